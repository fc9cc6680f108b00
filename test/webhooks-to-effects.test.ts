import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { onfidoCheck, startOnfidoStub, type OnfidoStub } from "../src/dev/stubs/onfido.js";
import type { Clients } from "../src/processes/clients.js";
import { listDeadLetters } from "../src/queues/dead-letter.js";
import { waitFor } from "./helpers/env.js";
import { randomWallet, startTestChain, type TestChain } from "./helpers/chain.js";
import { startStack, type TestStack } from "./helpers/stack.js";
import { fireblocksV1Headers, onfidoEvent, onfidoHeaders, rsaKeyPair, standardHeaders, SUMSUB_DOCS, sumsubHeaders } from "./helpers/webhook-senders.js";
import { adminApiClient } from "./helpers/admin-api.js";

const TOKEN = "http-e2e-admin-token-0123456789";
const PAY_SECRET = `whsec_${randomBytes(24).toString("base64")}`;
const BAKKT_SECRET = `whsec_${randomBytes(24).toString("base64")}`;
const SUMSUB_SECRET = "sumsub-e2e-secret";
const ONFIDO_TOKEN = "onfido-e2e-webhook-token";
const fireblocks = rsaKeyPair();

// End to end through HTTP: signed provider webhooks into the receiver, real workers, anvil,
// and the admin API to set up and to read the results.
describe("webhook -> processor -> chain, over HTTP", () => {
  let chain: TestChain;
  let onfido: OnfidoStub;
  let stack: TestStack;
  let c: Clients;

  const api = adminApiClient(() => stack.base, TOKEN);
  const webhook = async (path: string, body: string, headers: Record<string, string>) => {
    const res = await fetch(`${stack.base}/webhooks${path}`, { method: "POST", body, headers });
    return { status: res.status, body: (await res.json()) as any };
  };
  const payment = (fields: Record<string, unknown>) => {
    const body = JSON.stringify({ currency: "USD", timestamp: new Date().toISOString(), rail: "SEPA", ...fields });
    return webhook("/payments", body, standardHeaders(PAY_SECRET, body));
  };
  const sumsubReviewed = (investorId: string, answer: "GREEN" | "RED", createdAtMs: string) => {
    const body = JSON.stringify({
      applicantId: `app-${investorId}`,
      inspectionId: "insp",
      correlationId: randomUUID(),
      externalUserId: investorId,
      levelName: "basic-kyc-level",
      type: "applicantReviewed",
      reviewResult: { reviewAnswer: answer },
      reviewStatus: "completed",
      createdAtMs,
    });
    return webhook("/kyc/sumsub", body, sumsubHeaders(SUMSUB_SECRET, body));
  };
  const newInvestor = async () => {
    const id = `inv-${randomUUID()}`;
    const wallet = randomWallet();
    expect((await api("POST", "/investors", { id, wallet, firstName: "Alan", lastName: "Turing", dateOfBirth: "1912-06-23", nationality: "GB" })).status).toBe(
      201,
    );
    return { id, wallet };
  };
  const newOrder = async (investorId: string, tokenAmount: string, expectedAmount: string) => {
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
  const waitOrder = (ref: string, status: string) =>
    waitFor(
      async () => {
        const o = (await api("GET", `/orders/${ref}`)).body;
        return o.status === status ? o : undefined;
      },
      30_000,
      `order ${ref} ${status}`,
    );
  const mintTxCount = async (ref: string) =>
    (await c.dbh.db.selectFrom("chain_transactions").select("intent_key").where("intent_key", "=", `mint:${ref}`).execute()).length;

  beforeAll(async () => {
    chain = await startTestChain();
    onfido = await startOnfidoStub();
    stack = await startStack("webhooks_to_effects", {
      env: {
        ...chain.env,
        ADMIN_API_TOKEN: TOKEN,
        PAYMENTS_WEBHOOK_SECRETS: PAY_SECRET,
        BAKKT_WEBHOOK_SECRETS: BAKKT_SECRET,
        SUMSUB_WEBHOOK_SECRETS: SUMSUB_SECRET,
        FIREBLOCKS_PUBLIC_KEYS: fireblocks.publicPem,
        ONFIDO_WEBHOOK_SECRETS: ONFIDO_TOKEN,
        ONFIDO_API_URL: onfido.url,
        ONFIDO_API_TOKEN: onfido.apiToken,
      },
      worker: true,
      web: true,
    });
    c = stack.c;
  });
  afterAll(async () => {
    await stack?.close();
    await chain?.stop();
    await onfido?.close();
  });

  it("a signed payment before KYC waits; the signed approval mints exactly tokenAmount once; 5 deliveries mint once", async () => {
    const inv = await newInvestor();
    const tokenAmount = "2500500000000000000000";
    const ref = await newOrder(inv.id, tokenAmount, "2500.50");
    const bankTransactionId = `BTX-${randomUUID()}`;
    const first = await payment({ referenceId: ref, amount: 2500.5, bankTransactionId });
    expect(first.status).toBe(202);
    await waitOrder(ref, "awaiting_kyc");
    expect(await mintTxCount(ref)).toBe(0);

    expect((await sumsubReviewed(inv.id, "GREEN", "2026-03-01 12:00:00.000")).status).toBe(202);
    const done = await waitOrder(ref, "completed");
    expect(done.payment).toEqual(expect.objectContaining({ source: "bank", proof: bankTransactionId, amount: "2500.5" }));
    expect(await chain.balanceOf(chain.deployment.securityToken, inv.wallet)).toBe(BigInt(tokenAmount));
    expect((await api("GET", `/investors/${inv.id}`)).body.kyc).toEqual(
      expect.objectContaining({
        status: "approved",
        history: [expect.objectContaining({ source: "sumsub", status: "approved", previousStatus: "pending", applied: true })],
      }),
    );

    // Deliveries 2 and 3: the receiver answers duplicate (same job id). 4: after the job was
    // removed from Redis. 5: the amount written differently ("2500.50" string).
    expect((await payment({ referenceId: ref, amount: 2500.5, bankTransactionId })).status).toBe(200);
    expect((await payment({ referenceId: ref, amount: 2500.5, bankTransactionId })).status).toBe(200);
    await c.queues.queue("payments").remove(first.body.jobId);
    const fourth = await payment({ referenceId: ref, amount: 2500.5, bankTransactionId });
    expect(fourth.status).toBe(202);
    await waitFor(async () => (await c.queues.queue("payments").getJobState(fourth.body.jobId)) === "completed", 20_000, "fourth delivery processed");
    await c.queues.queue("payments").remove(fourth.body.jobId);
    const fifth = await payment({ referenceId: ref, amount: "2500.50", bankTransactionId });
    expect(fifth.status).toBe(202);
    await waitFor(async () => (await c.queues.queue("payments").getJobState(fifth.body.jobId)) === "completed", 20_000, "fifth delivery processed");
    expect(await chain.balanceOf(chain.deployment.securityToken, inv.wallet)).toBe(BigInt(tokenAmount));
    expect(await mintTxCount(ref)).toBe(1);
  });

  it("a signed payment with the wrong amount, and one for an unknown reference, end in the dead-letter queue; nothing minted", async () => {
    const inv = await newInvestor();
    expect((await sumsubReviewed(inv.id, "GREEN", "2026-03-01 12:00:00.000")).status).toBe(202);
    await waitFor(async () => (await api("GET", `/investors/${inv.id}`)).body.kyc.status === "approved");
    const ref = await newOrder(inv.id, "1000", "100");
    const wrong = await payment({ referenceId: ref, amount: 100.001, bankTransactionId: `BTX-${randomUUID()}` });
    expect(wrong.status).toBe(202);
    const letter = await waitFor(
      async () => (await listDeadLetters(c.queues.deadLetters("payments"))).find((l) => l.jobId === wrong.body.jobId),
      20_000,
      "dead letter",
    );
    expect(letter.failedReason).toContain("amount 100.001 != expected 100");
    expect((await api("GET", `/orders/${ref}`)).body.status).toBe("flagged");

    const unknownRef = `ATK-TX-nope-${randomUUID()}`;
    const unknown = await payment({ referenceId: unknownRef, amount: 100, bankTransactionId: `BTX-${randomUUID()}` });
    expect(unknown.status).toBe(202);
    // The receiver's job retries with backoff (10 attempts from 2 s, doubling: hours in all);
    // here it is seen waiting for its retry. Reaching the dead-letter queue after the last
    // attempt is shown with a shorter policy in orders.test.ts.
    // State first, then the job: a job read before its state could predate the failed attempt.
    const job = await waitFor(
      async () => {
        const queue = c.queues.queue("payments");
        return (await queue.getJobState(unknown.body.jobId)) === "delayed" ? queue.getJob(unknown.body.jobId) : undefined;
      },
      20_000,
      "first failed attempt, retry scheduled",
    );
    expect(job.opts.attempts).toBe(10);
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toBe(`no order with reference ${unknownRef} (yet)`);
    expect(await chain.balanceOf(chain.deployment.securityToken, inv.wallet)).toBe(0n);
    expect(await mintTxCount(ref)).toBe(0);
    expect(await mintTxCount(unknownRef)).toBe(0);
  });

  it("a signed Onfido check.completed whose check is clear releases the waiting order: one mint of exactly tokenAmount under redelivery", async () => {
    const inv = await newInvestor();
    const tokenAmount = "7000000000000000000";
    const ref = await newOrder(inv.id, tokenAmount, "70.00");
    expect((await payment({ referenceId: ref, amount: "70.00", bankTransactionId: `BTX-${randomUUID()}` })).status).toBe(202);
    await waitOrder(ref, "awaiting_kyc");

    const checkId = randomUUID();
    onfido.checks.set(checkId, onfidoCheck(onfido.url, checkId, { applicantId: randomUUID(), result: "clear", tags: [`investor:${inv.id}`] }));
    const body = onfidoEvent("check.completed", checkId);
    const first = await webhook("/kyc/onfido", body, onfidoHeaders(ONFIDO_TOKEN, body));
    expect(first.status).toBe(202);
    await waitOrder(ref, "completed");
    expect(await chain.balanceOf(chain.deployment.securityToken, inv.wallet)).toBe(BigInt(tokenAmount));

    // Onfido redelivers: a duplicate while Redis has the job, a new job once it has forgotten it.
    expect((await webhook("/kyc/onfido", body, onfidoHeaders(ONFIDO_TOKEN, body))).status).toBe(200);
    await c.queues.queue("kyc-onfido").remove(first.body.jobId);
    const again = await webhook("/kyc/onfido", body, onfidoHeaders(ONFIDO_TOKEN, body));
    expect(again.status).toBe(202);
    await waitFor(async () => (await c.queues.queue("kyc-onfido").getJobState(again.body.jobId)) === "completed", 20_000, "redelivery processed");
    expect(await chain.balanceOf(chain.deployment.securityToken, inv.wallet)).toBe(BigInt(tokenAmount));
    expect(await mintTxCount(ref)).toBe(1);
    expect((await api("GET", `/investors/${inv.id}`)).body.kyc.history).toEqual([
      expect.objectContaining({ source: "onfido", status: "approved", applied: true }),
    ]);
  });

  it('Sumsub applicantPending with "reviewResult": null is accepted and puts the investor in review', async () => {
    const inv = await newInvestor();
    const body = SUMSUB_DOCS.pendingAsDelivered.replace('"externalUserId": "12672"', `"externalUserId": "${inv.id}"`);
    const res = await webhook("/kyc/sumsub", body, sumsubHeaders(SUMSUB_SECRET, body));
    expect(res.status).toBe(202);
    const kyc = await waitFor(async () => {
      const k = (await api("GET", `/investors/${inv.id}`)).body.kyc;
      return k.status === "in_review" ? k : undefined;
    });
    expect(kyc.history).toEqual([expect.objectContaining({ source: "sumsub", status: "in_review", previousStatus: "pending", applied: true })]);
  });

  it("signed Fireblocks events posted in shuffled order end in the terminal state", async () => {
    const id = `fb-${randomUUID()}`;
    const statuses = ["COMPLETED", "CONFIRMING", "SUBMITTED", "BROADCASTING", "PENDING_SIGNATURE", "QUEUED"];
    for (const status of statuses) {
      const body = JSON.stringify({
        type: "TRANSACTION_STATUS_UPDATED",
        tenantId: "tenant",
        timestamp: Date.now(),
        data: { id, status, subStatus: "", txHash: status === "COMPLETED" ? "0xabc" : "" },
      });
      expect((await webhook("/custody/fireblocks", body, fireblocksV1Headers(fireblocks.privateKey, body))).status).toBe(202);
    }
    const tx = await waitFor(
      async () => {
        const r = await api("GET", `/custody-transactions/${id}`);
        return r.status === 200 &&
          (await c.queues.queue("custody-fireblocks").getJobCounts("waiting", "active")).waiting === 0 &&
          (await c.queues.queue("custody-fireblocks").getJobCounts("active")).active === 0
          ? r.body
          : undefined;
      },
      20_000,
      "custody transaction",
    );
    expect(tx).toEqual(expect.objectContaining({ status: "COMPLETED", txHash: "0xabc" }));
  });
});
