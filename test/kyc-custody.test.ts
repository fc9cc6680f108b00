import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Clients } from "../src/processes/clients.js";
import { listDeadLetters } from "../src/queues/dead-letter.js";
import { parseProviderTime } from "../src/validation/provider-time.js";
import { waitFor } from "./helpers/env.js";
import { startStack, type TestStack } from "./helpers/stack.js";

// KYC outcomes and custody updates through real queues and workers (no chain: KYC and
// custody never sign; orders released by an approval are covered in orders.test.ts).
describe("KYC outcomes and custody updates", () => {
  let stack: TestStack;
  let c: Clients;

  const addInvestor = async (bakktPartyRef?: string) => {
    const id = `inv-${randomUUID()}`;
    await c.dbh.db
      .insertInto("investors")
      .values({
        id,
        wallet: "0x000000000000000000000000000000000000dEaD",
        first_name: "Grace",
        last_name: "Hopper",
        date_of_birth: "1906-12-09",
        nationality: "US",
        bakkt_party_ref: bakktPartyRef ?? null,
      })
      .execute();
    return id;
  };
  const investor = (id: string) => c.dbh.db.selectFrom("investors").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
  const history = (id: string) => c.dbh.db.selectFrom("kyc_events").selectAll().where("investor_id", "=", id).orderBy("id").execute();

  /** Deliver jobs one after another (each waits to complete), as one ordered stream would. */
  const deliver = async (queue: "kyc-sumsub" | "bakkt-webhooks" | "custody-fireblocks", payloads: Record<string, unknown>[]) => {
    for (const payload of payloads) {
      const jobId = `${queue}-${randomUUID()}`;
      await c.queues.queue(queue).add(queue, { eventId: jobId, receivedAt: new Date().toISOString(), payload }, { jobId });
      await waitFor(
        async () => {
          const state = await c.queues.queue(queue).getJobState(jobId);
          return state === "completed" || state === "failed";
        },
        20_000,
        `job ${jobId}`,
      );
    }
  };

  const sumsub = (investorId: string, type: string, createdAtMs: string, review?: Record<string, unknown>) => ({
    applicantId: `app-${investorId}`,
    inspectionId: "insp-1",
    correlationId: randomUUID(),
    externalUserId: investorId,
    levelName: "basic-kyc-level",
    type,
    ...(review ? { reviewResult: review } : {}),
    reviewStatus: type === "applicantReviewed" ? "completed" : "pending",
    createdAtMs,
  });

  beforeAll(async () => {
    stack = await startStack("kyc_custody", { worker: true });
    c = stack.c;
  });
  afterAll(() => stack?.close());

  it("reads providers' event times, including Sumsub's and nanosecond ISO forms", () => {
    expect(parseProviderTime("2020-02-21 13:23:19.321")?.toISOString()).toBe("2020-02-21T13:23:19.321Z");
    expect(parseProviderTime("2020-02-21 13:23:19+0000")?.toISOString()).toBe("2020-02-21T13:23:19.000Z");
    expect(parseProviderTime("2024-02-20T18:58:49.197534912Z")?.toISOString()).toBe("2024-02-20T18:58:49.197Z");
    expect(parseProviderTime(1_700_000_000_000)?.toISOString()).toBe("2023-11-14T22:13:20.000Z");
    expect(parseProviderTime("yesterday")).toBeUndefined();
  });

  it("Sumsub outcomes map to statuses, every transition is kept, and an older event never overwrites a newer one", async () => {
    const id = await addInvestor();
    await deliver("kyc-sumsub", [
      sumsub(id, "applicantPending", "2024-03-01 10:00:00.000"),
      sumsub(id, "applicantReviewed", "2024-03-01 11:00:00.000", { reviewAnswer: "RED", reviewRejectType: "RETRY", rejectLabels: ["BAD_PROOF_OF_ADDRESS"] }),
    ]);
    expect((await investor(id)).kyc_status).toBe("resubmission_requested");
    await deliver("kyc-sumsub", [sumsub(id, "applicantOnHold", "2024-03-01 12:00:00.000")]);
    expect((await investor(id)).kyc_status).toBe("in_review");
    await deliver("kyc-sumsub", [sumsub(id, "applicantReviewed", "2024-03-01 14:00:00.000", { reviewAnswer: "GREEN" })]);
    expect((await investor(id)).kyc_status).toBe("approved");
    // A late, older RED FINAL: recorded as history, not applied.
    await deliver("kyc-sumsub", [sumsub(id, "applicantReviewed", "2024-03-01 13:00:00.000", { reviewAnswer: "RED", reviewRejectType: "FINAL" })]);
    const inv = await investor(id);
    expect(inv.kyc_status).toBe("approved");
    expect(inv.kyc_event_at?.toISOString()).toBe("2024-03-01T14:00:00.000Z");
    const h = await history(id);
    expect(h.map((e) => [e.status, e.previous_status, e.applied])).toEqual([
      ["in_review", "pending", true],
      ["resubmission_requested", "in_review", true],
      ["in_review", "resubmission_requested", true],
      ["approved", "in_review", true],
      ["rejected", "approved", false],
    ]);
    // The same event again (a redelivery under another job id) adds nothing.
    await deliver("kyc-sumsub", [sumsub(id, "applicantReviewed", "2024-03-01 14:00:00.000", { reviewAnswer: "GREEN" })]);
    expect(await history(id)).toHaveLength(5);

    const other = await addInvestor();
    await deliver("kyc-sumsub", [sumsub(other, "applicantReviewed", "2024-03-02 09:00:00.000", { reviewAnswer: "RED", reviewRejectType: "FINAL" })]);
    expect((await investor(other)).kyc_status).toBe("rejected");
  });

  it("broker PARTY_EVENTs map per reason code and party status; document verification keeps the URL and expiry", async () => {
    const ref = `party-${randomUUID()}`;
    const id = await addInvestor(ref);
    const party = (created: string, partyStatus: string, reasonCode: string, extra: Record<string, unknown> = {}) => ({
      requestId: randomUUID(),
      partnerPartyRef: ref,
      partnerWebhookType: "PARTY_EVENT",
      created,
      partyStatus,
      reasonCode,
      verificationURL: "",
      verificationURLExpiry: "",
      ...extra,
    });
    await deliver("bakkt-webhooks", [
      party("2023-07-14T17:26:42.53873Z", "INACTIVE", "DOCUMENT_VERIFICATION", {
        verificationURL: "https://verify-v2.socure.com/#/t/99f2e00e-3ffd-4c58-8e40-3d6f7934c426",
        verificationURLExpiry: "2024-02-20T18:58:49.197534912Z",
      }),
    ]);
    let inv = await investor(id);
    expect(inv.kyc_status).toBe("documents_requested");
    expect(inv.kyc_details).toEqual(
      expect.objectContaining({
        verificationURL: "https://verify-v2.socure.com/#/t/99f2e00e-3ffd-4c58-8e40-3d6f7934c426",
        verificationURLExpiry: "2024-02-20T18:58:49.197534912Z",
      }),
    );
    const steps: [string, string, string, string][] = [
      ["2023-07-15T00:00:00Z", "INACTIVE", "PENDING_REVIEW", "in_review"],
      ["2023-07-16T00:00:00Z", "ACTIVE", "ENROLLMENT", "approved"],
      ["2023-07-17T00:00:00Z", "SUSPENDED", "COMPLIANCE_LOCKED", "restricted"],
      ["2023-07-18T00:00:00Z", "SUSPENDED", "RISK_OFAC", "rejected"],
      ["2023-07-19T00:00:00Z", "LIQUIDATED", "LIQUIDATED", "restricted"],
      ["2023-07-20T00:00:00Z", "INACTIVE", "RISK_KYC", "rejected"],
      ["2023-07-21T00:00:00Z", "CLOSED", "CLOSED", "restricted"],
    ];
    for (const [created, status, reason, expected] of steps) {
      await deliver("bakkt-webhooks", [party(created, status, reason)]);
      expect((await investor(id)).kyc_status, `${status}/${reason}`).toBe(expected);
    }
    // Older than the last applied (CLOSED on the 21st): kept in history, not applied.
    await deliver("bakkt-webhooks", [party("2023-07-16T12:00:00Z", "ACTIVE", "ENROLLMENT")]);
    inv = await investor(id);
    expect(inv.kyc_status).toBe("restricted");
    const h = await history(id);
    expect(h).toHaveLength(9);
    expect(h.at(-1)).toEqual(expect.objectContaining({ status: "approved", applied: false, source: "bakkt" }));
  });

  it("a KYC event for an unknown investor is retried and then dead-lettered with the reason", async () => {
    const jobId = `kyc-unknown-${randomUUID()}`;
    await c.queues.queue("kyc-sumsub").add(
      "sumsub",
      {
        eventId: jobId,
        receivedAt: new Date().toISOString(),
        payload: sumsub("nobody-here", "applicantReviewed", "2024-01-01 00:00:00.000", { reviewAnswer: "GREEN" }),
      },
      { jobId, attempts: 2, backoff: { type: "fixed", delay: 100 } },
    );
    const letter = await waitFor(async () => (await listDeadLetters(c.queues.deadLetters("kyc-sumsub"))).find((l) => l.jobId === jobId), 20_000, "dead letter");
    expect(letter.failedReason).toMatch(/^gave up after 2 attempts over \d+ ms: no investor id nobody-here \(yet\)$/);
  });

  const fb = (id: string, status: string, version: 1 | 2, extra: Record<string, unknown> = {}) =>
    version === 1
      ? {
          type: "TRANSACTION_STATUS_UPDATED",
          tenantId: "t-1",
          timestamp: Date.now(),
          data: { id, status, subStatus: "", txHash: "", assetId: "ETH_TEST5", ...extra },
        }
      : {
          eventType: "transaction.status.updated",
          id: randomUUID(),
          resourceId: id,
          createdAt: Date.now(),
          data: { id, status, subStatus: "", txHash: "", ...extra },
        };

  it("Fireblocks events delivered in shuffled order end in the right terminal state (v1 and v2)", async () => {
    const lifecycle = ["SUBMITTED", "PENDING_AML_SCREENING", "PENDING_AUTHORIZATION", "QUEUED", "PENDING_SIGNATURE", "BROADCASTING", "CONFIRMING"];
    const orders = [
      // reversed, and the terminal first
      (a: string[]) => [...a].reverse(),
      // a fixed shuffle with the terminal in the middle
      (a: string[]) => [a[3], a[7], a[0], a[5], a[1], a[6], a[2], a[4]].filter((x): x is string => Boolean(x)),
    ];
    for (const version of [1, 2] as const) {
      for (const [terminal, shuffle] of [
        ["COMPLETED", orders[0]!],
        ["FAILED", orders[1]!],
        ["CANCELLED", orders[0]!],
      ] as const) {
        const id = `fb-${randomUUID()}`;
        const hash = `0x${"ab".repeat(32)}`;
        const statuses = shuffle([...lifecycle, terminal]);
        await deliver(
          "custody-fireblocks",
          statuses.map((s) =>
            fb(
              id,
              s,
              version,
              s === "BROADCASTING" || s === terminal ? { txHash: hash, subStatus: s === terminal && s !== "COMPLETED" ? "INSUFFICIENT_FUNDS" : "" } : {},
            ),
          ),
        );
        const row = await c.dbh.db.selectFrom("custody_transactions").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
        expect([row.status, row.tx_hash], `${version} ${statuses.join(",")}`).toEqual([terminal, hash]);
        expect(row.finished_at).not.toBeNull();
        if (terminal !== "COMPLETED") expect(row.sub_status).toBe("INSUFFICIENT_FUNDS");
      }
    }
  });

  it("Fireblocks events for one transaction delivered all at once (concurrent workers) still end in the terminal state", async () => {
    const id = `fb-${randomUUID()}`;
    const statuses = ["CONFIRMING", "SUBMITTED", "COMPLETED", "QUEUED", "BROADCASTING", "PENDING_SIGNATURE", "PENDING_AUTHORIZATION"];
    const jobs = statuses.map((s) => {
      const jobId = `fb-all-${randomUUID()}`;
      return {
        name: "fb",
        data: { eventId: jobId, receivedAt: new Date().toISOString(), payload: fb(id, s, 2, s === "COMPLETED" ? { txHash: "0xdone" } : {}) },
        opts: { jobId },
      };
    });
    await c.queues.queue("custody-fireblocks").addBulk(jobs);
    await waitFor(
      async () => {
        const states = await Promise.all(jobs.map((j) => c.queues.queue("custody-fireblocks").getJobState(j.opts.jobId)));
        return states.every((s) => s === "completed");
      },
      20_000,
      "all custody jobs",
    );
    const row = await c.dbh.db.selectFrom("custody_transactions").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
    expect([row.status, row.tx_hash]).toEqual(["COMPLETED", "0xdone"]);
  });

  it("a terminal state never changes, not even to another terminal state; a fresh hash still fills an empty one", async () => {
    const id = `fb-${randomUUID()}`;
    await deliver("custody-fireblocks", [fb(id, "REJECTED", 1, { subStatus: "REJECTED_BY_USER" }), fb(id, "COMPLETED", 1), fb(id, "BLOCKED", 2)]);
    let row = await c.dbh.db.selectFrom("custody_transactions").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
    expect([row.status, row.sub_status, row.tx_hash]).toEqual(["REJECTED", "REJECTED_BY_USER", null]);
    await deliver("custody-fireblocks", [fb(id, "BROADCASTING", 2, { txHash: "0xfeed" })]);
    row = await c.dbh.db.selectFrom("custody_transactions").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
    expect([row.status, row.tx_hash]).toEqual(["REJECTED", "0xfeed"]);
    // A transaction event without id is dead-lettered with the reader's own message (the receiver would have answered 400).
    const jobId = `bad-${randomUUID()}`;
    await c.queues
      .queue("custody-fireblocks")
      .add("x", { eventId: jobId, receivedAt: new Date().toISOString(), payload: { type: "TRANSACTION_CREATED", data: { status: "SUBMITTED" } } }, { jobId });
    const letter = await waitFor(async () => (await listDeadLetters(c.queues.deadLetters("custody-fireblocks"))).find((l) => l.jobId === jobId));
    expect(letter.failedReason).toBe("invalid job data: payload.data.id: Invalid input: expected string, received undefined");
  });
});
