import { describe, expect, it } from "vitest";
import { statusRank, TERMINAL_STATUSES } from "../src/processors/custody-updates.js";
import { decimalEquals, paymentAmount } from "../src/processors/decimal-amount.js";
import { mapPartyEvent, mapSumsub } from "../src/processors/kyc-outcomes.js";
import { SEED } from "./helpers/webhook-senders.js";

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
    expect(paymentAmount(100)).toBe("100");
    expect(paymentAmount(100.001)).toBe("100.001");
    expect(paymentAmount("100.00")).toBe("100.00");
    expect(paymentAmount(" 250.5 ")).toBe("250.5");
    for (const bad of [0, "0.00", -5, "-5", "abc", "1,000.00", null, undefined, {}, Number.NaN]) expect(paymentAmount(bad), String(bad)).toBeUndefined();
  });
});

describe("KYC mapping", () => {
  it("maps the broker's printed PARTY_EVENT examples", () => {
    expect(mapPartyEvent(JSON.parse(SEED.bakktActive), at)?.status).toBe("approved");
    expect(mapPartyEvent(JSON.parse(SEED.bakktFailedKyc), at)?.status).toBe("rejected");
    const doc = mapPartyEvent(JSON.parse(SEED.bakktDocVerification), at)!;
    expect(doc.status).toBe("documents_requested");
    expect(doc.details).toEqual(expect.objectContaining({ verificationURL: expect.stringMatching(/^https:\/\//), verificationURLExpiry: "2024-02-20T18:58:49.197534912Z" }));
    expect(doc.eventAt.toISOString()).toBe("2023-07-14T17:26:42.538Z");
    expect(mapPartyEvent(JSON.parse(SEED.bakktSuspended), at)?.status).toBe("restricted");
    // Same request id, different content: different events.
    expect(mapPartyEvent(JSON.parse(SEED.bakktActive), at)!.eventKey).not.toBe(mapPartyEvent(JSON.parse(SEED.bakktFailedKyc), at)!.eventKey);
  });

  it("maps Sumsub events; RED without a reject type counts as rejected; other types carry no verdict", () => {
    const base = { applicantId: "a1", externalUserId: "inv-1", createdAtMs: "2026-01-01 10:00:00.000" };
    expect(mapSumsub({ ...base, type: "applicantReviewed", reviewResult: { reviewAnswer: "GREEN" } }, at)?.status).toBe("approved");
    expect(mapSumsub({ ...base, type: "applicantReviewed", reviewResult: { reviewAnswer: "RED", reviewRejectType: "RETRY" } }, at)?.status).toBe("resubmission_requested");
    expect(mapSumsub({ ...base, type: "applicantReviewed", reviewResult: { reviewAnswer: "RED" }, reviewRejectType: "RETRY" }, at)?.status).toBe("resubmission_requested");
    expect(mapSumsub({ ...base, type: "applicantReviewed", reviewResult: { reviewAnswer: "RED" } }, at)?.status).toBe("rejected");
    expect(mapSumsub({ ...base, type: "applicantOnHold" }, at)?.status).toBe("in_review");
    expect(mapSumsub({ ...base, type: "applicantCreated" }, at)).toBeUndefined();
    expect(mapSumsub({ ...base, type: "applicantPending", createdAtMs: undefined }, at)?.eventAt.toISOString()).toBe(at);
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
