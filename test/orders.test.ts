import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Address } from "viem";
import type { Clients } from "../src/processes/clients.js";
import { listDeadLetters } from "../src/queues/dead-letter.js";
import { waitFor } from "./helpers/env.js";
import { randomWallet, startTestChain, type TestChain } from "./helpers/chain.js";
import { startStack, type TestStack } from "./helpers/stack.js";
import { adminApiClient } from "./helpers/admin-api.js";

const TOKEN = "admin-token-for-tests-0123456789";

describe("mint on payment (anvil, Redis, Postgres, HTTP admin API)", () => {
  let chain: TestChain;
  let stack: TestStack;
  let c: Clients;

  const api = adminApiClient(() => stack.base, TOKEN);

  const newInvestor = async (approved: boolean) => {
    const id = `inv-${randomUUID()}`;
    const wallet = randomWallet();
    const res = await api("POST", "/investors", { id, wallet, firstName: "Ada", lastName: "Lovelace", dateOfBirth: "1990-12-10", nationality: "GB" });
    expect(res.status).toBe(201);
    if (approved) await approve(id);
    return { id, wallet };
  };

  const approve = async (investorId: string, at = Date.now()) => {
    await c.queues.queue("kyc-sumsub").add(
      "sumsub",
      {
        eventId: `sumsub-${investorId}-${at}`,
        receivedAt: new Date().toISOString(),
        payload: {
          type: "applicantReviewed",
          applicantId: `app-${investorId}`,
          externalUserId: investorId,
          reviewResult: { reviewAnswer: "GREEN" },
          createdAtMs: at,
        },
      },
      { jobId: `sumsub-${investorId}-${at}` },
    );
    await waitFor(async () => (await api("GET", `/investors/${investorId}`)).body.kyc.status === "approved", 20_000, "KYC approval");
  };

  const newOrder = async (investorId: string, tokenAmount: string, expectedAmount = "100.00") => {
    const referenceId = `ATK-TX-${randomUUID()}`;
    const res = await api("POST", "/orders", {
      referenceId,
      investorId,
      tokenAddress: chain.deployment.securityToken,
      tokenAmount,
      expectedAmount,
      currency: "USD",
    });
    expect(res.status).toBe(201);
    return referenceId;
  };

  const pay = async (referenceId: string, amount: unknown, opts: { bankTransactionId?: string; type?: string; currency?: string; attempts?: number } = {}) => {
    const bankTransactionId = opts.bankTransactionId ?? `BTX-${randomUUID()}`;
    const jobId = `pay-${bankTransactionId}`;
    await c.queues.queue("payments").add(
      "payment",
      {
        eventId: bankTransactionId,
        receivedAt: new Date().toISOString(),
        payload: {
          type: opts.type ?? "payment.completed",
          referenceId,
          amount,
          currency: opts.currency ?? "USD",
          bankTransactionId,
          timestamp: new Date().toISOString(),
          rail: "FEDNOW",
        },
      },
      { jobId, ...(opts.attempts ? { attempts: opts.attempts, backoff: { type: "fixed", delay: 200 } } : {}) },
    );
    return { jobId, bankTransactionId };
  };

  const orderStatus = async (ref: string) => (await api("GET", `/orders/${ref}`)).body;
  const waitOrder = (ref: string, status: string) =>
    waitFor(
      async () => {
        const o = await orderStatus(ref);
        return o.status === status ? o : undefined;
      },
      30_000,
      `order ${ref} ${status}`,
    );
  const mintTxs = (ref: string) => c.dbh.db.selectFrom("chain_transactions").selectAll().where("intent_key", "=", `mint:${ref}`).execute();

  beforeAll(async () => {
    chain = await startTestChain();
    stack = await startStack("orders", { env: { ...chain.env, ADMIN_API_TOKEN: TOKEN }, worker: true, web: true });
    c = stack.c;
  });

  afterAll(async () => {
    await stack?.close();
    await chain?.stop();
  });

  it("a payment for an approved investor's order completes it and the wallet holds exactly tokenAmount", async () => {
    const inv = await newInvestor(true);
    const amount = "1500000000000000000000"; // 1500 tokens, beyond float precision
    const ref = await newOrder(inv.id, amount, "100.00");
    const { bankTransactionId } = await pay(ref, 100); // JSON number 100 == "100.00"
    const done = await waitOrder(ref, "completed");
    expect(done.payment).toEqual(expect.objectContaining({ source: "bank", proof: bankTransactionId, amount: "100", currency: "USD" }));
    expect(done.mintTxHash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(done.completedAt).toBeTruthy();
    expect(await chain.balanceOf(chain.deployment.securityToken, inv.wallet)).toBe(BigInt(amount));
    const receipt = await chain.clients.publicClient.getTransactionReceipt({ hash: done.mintTxHash });
    expect(receipt.status).toBe("success");
    expect(receipt.to?.toLowerCase()).toBe(chain.deployment.securityToken.toLowerCase());
  });

  it("the same payment delivered 5 times, once after its job was removed, mints once", async () => {
    const inv = await newInvestor(true);
    const ref = await newOrder(inv.id, "7000", "250.5");
    const bankTransactionId = `BTX-${randomUUID()}`;
    // Three deliveries at once under the receiver's job id: BullMQ keeps one job.
    await Promise.all([1, 2, 3].map(() => pay(ref, "250.50", { bankTransactionId })));
    await waitOrder(ref, "completed");
    // A fourth after the job (and the mint job) were removed from Redis: Postgres decides.
    await c.queues.queue("payments").remove(`pay-${bankTransactionId}`);
    await c.queues.queue("mints").remove(`mint-${ref}`);
    await pay(ref, "250.500", { bankTransactionId });
    await waitFor(async () => (await c.queues.queue("payments").getJobState(`pay-${bankTransactionId}`)) === "completed", 20_000, "redelivered job");
    // A fifth with a new job id (the provider's retry under another delivery id).
    await c.queues.queue("payments").add(
      "payment",
      {
        eventId: bankTransactionId,
        receivedAt: new Date().toISOString(),
        payload: { referenceId: ref, amount: 250.5, currency: "USD", bankTransactionId, timestamp: new Date().toISOString() },
      },
      { jobId: `pay-${bankTransactionId}-again` },
    );
    await waitFor(async () => (await c.queues.queue("payments").getJobState(`pay-${bankTransactionId}-again`)) === "completed", 20_000, "fifth delivery");
    await waitFor(async () => (await c.queues.queue("mints").getJobCounts("waiting", "active", "delayed")).waiting === 0, 20_000, "mint queue idle");
    await new Promise((r) => setTimeout(r, 500));
    expect(await chain.balanceOf(chain.deployment.securityToken, inv.wallet)).toBe(7000n);
    expect(await mintTxs(ref)).toHaveLength(1);
    expect((await orderStatus(ref)).status).toBe("completed");
  });

  it("payment before KYC approval waits, and the approval mints exactly once", async () => {
    const inv = await newInvestor(false);
    const ref = await newOrder(inv.id, "42", "10");
    await pay(ref, "10.00");
    await waitOrder(ref, "awaiting_kyc");
    expect(await chain.balanceOf(chain.deployment.securityToken, inv.wallet)).toBe(0n);
    expect(await mintTxs(ref)).toHaveLength(0);
    await approve(inv.id);
    await waitOrder(ref, "completed");
    // The same approval again (another delivery) releases nothing new.
    await approve(inv.id, Date.now() + 1);
    await new Promise((r) => setTimeout(r, 500));
    expect(await chain.balanceOf(chain.deployment.securityToken, inv.wallet)).toBe(42n);
    expect(await mintTxs(ref)).toHaveLength(1);
  });

  it("an amount mismatch flags the order and dead-letters the job with the reason; nothing is minted", async () => {
    const inv = await newInvestor(true);
    const ref = await newOrder(inv.id, "5", "100");
    const { jobId } = await pay(ref, "100.001");
    const letter = await waitFor(async () => (await listDeadLetters(c.queues.deadLetters("payments"))).find((l) => l.jobId === jobId), 20_000, "dead letter");
    expect(letter.unrecoverable).toBe(true);
    expect(letter.failedReason).toContain(`does not match order ${ref}: amount 100.001 != expected 100`);
    const o = await orderStatus(ref);
    expect(o.status).toBe("flagged");
    expect(o.flagReason).toContain("amount 100.001 != expected 100");
    expect(await mintTxs(ref)).toHaveLength(0);
    expect(await chain.balanceOf(chain.deployment.securityToken, inv.wallet)).toBe(0n);

    const ref2 = await newOrder(inv.id, "5", "100");
    const { jobId: jobId2 } = await pay(ref2, "100", { currency: "EUR" });
    const letter2 = await waitFor(async () => (await listDeadLetters(c.queues.deadLetters("payments"))).find((l) => l.jobId === jobId2), 20_000, "dead letter");
    expect(letter2.failedReason).toContain("currency EUR != expected USD");
    expect(await mintTxs(ref2)).toHaveLength(0);
  });

  it("an unknown reference is retried with backoff, then dead-lettered with a readable reason", async () => {
    const ref = `ATK-TX-unknown-${randomUUID()}`;
    const { jobId } = await pay(ref, "100", { attempts: 3 });
    const letter = await waitFor(async () => (await listDeadLetters(c.queues.deadLetters("payments"))).find((l) => l.jobId === jobId), 30_000, "dead letter");
    expect(letter.unrecoverable).toBe(false);
    expect(letter.attemptsMade).toBe(3);
    expect(letter.failedReason).toMatch(/^gave up after 3 attempts over \d+ (ms|s): /);
    expect(letter.failedReason).toContain(`: no order with reference ${ref} (yet)`);
    // The failed job the board shows says the same.
    expect((await c.queues.queue("payments").getJob(jobId))?.failedReason).toBe(letter.failedReason);
    expect(await mintTxs(ref)).toHaveLength(0);
  });

  it("a payment that arrives before its order is applied on a later attempt", async () => {
    const inv = await newInvestor(true);
    const ref = `ATK-TX-${randomUUID()}`;
    await pay(ref, "20", { attempts: 10 });
    await new Promise((r) => setTimeout(r, 300));
    const res = await api("POST", "/orders", {
      referenceId: ref,
      investorId: inv.id,
      tokenAddress: chain.deployment.securityToken,
      tokenAmount: "3",
      expectedAmount: "20",
      currency: "USD",
    });
    expect(res.status).toBe(201);
    await waitOrder(ref, "completed");
    expect(await chain.balanceOf(chain.deployment.securityToken, inv.wallet)).toBe(3n);
  });

  it("payment.failed fails the order; nothing is minted", async () => {
    const inv = await newInvestor(true);
    const ref = await newOrder(inv.id, "9", "50");
    await pay(ref, "50", { type: "payment.failed" });
    const o = await waitOrder(ref, "failed");
    expect(o.failureReason).toContain("failed");
    expect(await mintTxs(ref)).toHaveLength(0);
  });

  it("a broker FIAT_EVENT DEPOSIT COMPLETED pays the order named by partnerTransactionRef", async () => {
    const inv = await newInvestor(true);
    const ref = await newOrder(inv.id, "11", "100");
    const pending = {
      requestId: randomUUID(),
      partnerPartyRef: inv.id,
      partnerWebhookType: "FIAT_EVENT",
      fiatEvent: {
        amount: 100,
        created: "2023-05-11T18:32:24.448422Z",
        currency: "USD",
        transactionId: randomUUID(),
        partnerTransactionRef: ref,
        fiatTransactType: "DEPOSIT",
        instrumentType: "ACH",
        transactionStatus: "PENDING",
      },
    };
    await c.queues
      .queue("bakkt-webhooks")
      .add("bakkt", { eventId: pending.requestId, receivedAt: new Date().toISOString(), payload: pending }, { jobId: `bakkt-${pending.requestId}` });
    await waitFor(async () => (await c.queues.queue("bakkt-webhooks").getJobState(`bakkt-${pending.requestId}`)) === "completed");
    expect((await orderStatus(ref)).status).toBe("pending");
    const completed = {
      ...pending,
      requestId: randomUUID(),
      fiatEvent: { ...pending.fiatEvent, created: "2023-05-13T18:32:24.448422Z", transactionId: randomUUID(), transactionStatus: "COMPLETED" },
    };
    await c.queues
      .queue("bakkt-webhooks")
      .add("bakkt", { eventId: completed.requestId, receivedAt: new Date().toISOString(), payload: completed }, { jobId: `bakkt-${completed.requestId}` });
    const o = await waitOrder(ref, "completed");
    expect(o.payment).toEqual(expect.objectContaining({ source: "bakkt", proof: completed.fiatEvent.transactionId }));
    expect(await chain.balanceOf(chain.deployment.securityToken, inv.wallet as Address)).toBe(11n);

    // The broker's field list puts the same fields at the top level (and names the type webhookType).
    const ref2 = await newOrder(inv.id, "12", "75.25");
    const flat = {
      requestId: randomUUID(),
      partnerPartyRef: inv.id,
      webhookType: "FIAT_EVENT",
      amount: "75.250",
      created: "2023-05-13T18:32:24.448422Z",
      currency: "USD",
      transactionId: randomUUID(),
      partnerTransactionRef: ref2,
      fiatTransactType: "DEPOSIT",
      instrumentType: "WIRE",
      transactionStatus: "COMPLETED",
    };
    await c.queues
      .queue("bakkt-webhooks")
      .add("bakkt", { eventId: flat.requestId, receivedAt: new Date().toISOString(), payload: flat }, { jobId: `bakkt-${flat.requestId}` });
    await waitOrder(ref2, "completed");
    expect(await chain.balanceOf(chain.deployment.securityToken, inv.wallet as Address)).toBe(23n);
  });
});
