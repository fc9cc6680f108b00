import { describe, expect, it } from "vitest";
import { statusRank, TERMINAL_STATUSES } from "../src/clients/fireblocks.js";
import { mapPartyEvent } from "../src/processors/kyc/bakkt-party.js";
import { mapSumsub } from "../src/processors/kyc/sumsub.js";
import { bakktPayload } from "../src/server/webhooks/providers/bakkt.js";
import { sumsubPayload } from "../src/server/webhooks/providers/sumsub.js";
import { decimalEquals } from "../src/validation/decimal.js";
import { amountField } from "../src/validation/fields.js";
import { SEED, SUMSUB_DOCS } from "./helpers/webhook-senders.js";

/** Mappers take what the reader produced, as the worker host hands it over. */
const party = (json: string) => {
  const p = bakktPayload.parse(JSON.parse(json));
  if (p.webhookType !== "PARTY_EVENT") throw new Error(`not a PARTY_EVENT: ${p.webhookType}`);
  return p;
};
const sumsub = (p: Record<string, unknown>) => sumsubPayload.parse(p);

const at = "2026-01-01T00:00:00.000Z";

describe("payment amounts", () => {
  it("compares decimals exactly, never through floats", () => {
    expect(decimalEquals("100", "100.0")).toBe(true);
    expect(decimalEquals("100", "100.00")).toBe(true);
    expect(decimalEquals("100.001", "100")).toBe(false);
    expect(decimalEquals("0.30", "0.3")).toBe(true);
    // 0.1 + 0.2 style: amounts that floats cannot hold compare exactly.
    expect(decimalEquals("12345678901234567890.123456789", "12345678901234567890.1234567890")).toBe(true);
    expect(decimalEquals("12345678901234567890.123456789", "12345678901234567890.123456788")).toBe(false);
  });

  it("reads a payload amount as an exact positive decimal, from a number or a string", () => {
    const amount = amountField({ positive: true });
    expect(amount.parse(100)).toBe("100");
    expect(amount.parse(100.001)).toBe("100.001");
    expect(amount.parse("100.00")).toBe("100.00");
    expect(amount.parse(" 250.5 ")).toBe("250.5");
    // Its output reads back as itself: a job checked again by the worker host keeps its amount.
    expect(amount.parse(amount.parse("100.50"))).toBe("100.50");
    for (const bad of [0, "0.00", -5, "-5", "abc", "1,000.00", null, undefined, {}, Number.NaN]) expect(amount.safeParse(bad).success, String(bad)).toBe(false);
  });
});

describe("KYC mapping", () => {
  it("maps the broker's printed PARTY_EVENT examples", () => {
    expect(mapPartyEvent(party(SEED.bakktActive), at)?.status).toBe("approved");
    expect(mapPartyEvent(party(SEED.bakktFailedKyc), at)?.status).toBe("rejected");
    const doc = mapPartyEvent(party(SEED.bakktDocVerification), at)!;
    expect(doc.status).toBe("documents_requested");
    expect(doc.details).toEqual(
      expect.objectContaining({ verificationURL: expect.stringMatching(/^https:\/\//), verificationURLExpiry: "2024-02-20T18:58:49.197534912Z" }),
    );
    expect(doc.eventAt.toISOString()).toBe("2023-07-14T17:26:42.538Z");
    expect(mapPartyEvent(party(SEED.bakktSuspended), at)?.status).toBe("restricted");
    // Same request id, different content: different events.
    expect(mapPartyEvent(party(SEED.bakktActive), at)!.eventKey).not.toBe(mapPartyEvent(party(SEED.bakktFailedKyc), at)!.eventKey);
  });

  it("maps Sumsub events; RED without a reject type counts as rejected; other types carry no verdict", () => {
    const base = { applicantId: "a1", externalUserId: "inv-1", createdAtMs: "2026-01-01 10:00:00.000" };
    expect(mapSumsub(sumsub({ ...base, type: "applicantReviewed", reviewResult: { reviewAnswer: "GREEN" } }), at)?.status).toBe("approved");
    expect(mapSumsub(sumsub({ ...base, type: "applicantReviewed", reviewResult: { reviewAnswer: "RED", reviewRejectType: "RETRY" } }), at)?.status).toBe(
      "resubmission_requested",
    );
    expect(mapSumsub(sumsub({ ...base, type: "applicantReviewed", reviewResult: { reviewAnswer: "RED" }, reviewRejectType: "RETRY" }), at)?.status).toBe(
      "resubmission_requested",
    );
    expect(mapSumsub(sumsub({ ...base, type: "applicantReviewed", reviewResult: { reviewAnswer: "RED" } }), at)?.status).toBe("rejected");
    expect(mapSumsub(sumsub({ ...base, type: "applicantOnHold" }), at)?.status).toBe("in_review");
    expect(mapSumsub(sumsub({ ...base, type: "applicantCreated" }), at)).toBeUndefined();
    expect(mapSumsub(sumsub({ ...base, type: "applicantPending", createdAtMs: "not a time" }), at)?.eventAt.toISOString()).toBe(at);
  });
});

describe("Sumsub's documented examples", () => {
  it("map to in review (pending), approved (reviewed GREEN), and no verdict (created); null attributes read as absent", () => {
    const read = (json: string) => sumsubPayload.parse(JSON.parse(json));
    expect(mapSumsub(read(SUMSUB_DOCS.applicantCreated), at)).toBeUndefined();
    expect(mapSumsub(read(SUMSUB_DOCS.applicantPending), at)?.status).toBe("in_review");
    expect(mapSumsub(read(SUMSUB_DOCS.applicantReviewed), at)?.status).toBe("approved");
    const delivered = read(SUMSUB_DOCS.pendingAsDelivered);
    // The reader's output reads back as itself (the worker host validates the job again).
    expect(sumsubPayload.parse(JSON.parse(JSON.stringify(delivered)))).toEqual(delivered);
    const outcome = mapSumsub(delivered, at)!;
    expect(outcome.status).toBe("in_review");
    expect(outcome.details).toEqual({ applicantId: "65bd228a2a99e9196014ccc5" });
    expect(outcome.eventAt.toISOString()).toBe("2024-02-02T17:23:16.368Z");
  });
});

describe("custody status order", () => {
  it("ranks the lifecycle forward and every terminal status above it", () => {
    const path = ["SUBMITTED", "PENDING_AML_SCREENING", "PENDING_AUTHORIZATION", "QUEUED", "PENDING_SIGNATURE", "BROADCASTING", "CONFIRMING"];
    const ranks = path.map(statusRank);
    expect([...ranks].sort((a, b) => a - b)).toEqual(ranks);
    for (const t of TERMINAL_STATUSES) expect(statusRank(t)).toBeGreaterThan(statusRank("CONFIRMING"));
    expect(statusRank("SOMETHING_NEW")).toBe(0);
  });
});
