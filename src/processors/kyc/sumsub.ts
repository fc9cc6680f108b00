import { sumsubReviewStatus, sumsubVerdictKey } from "../../clients/kyc/sumsub.js";
import type { KycStatus } from "../../db/schema.js";
import type { Processor } from "../../queues/queue-module.js";
import type { SumsubJob, SumsubPayload } from "../../server/webhooks/providers/sumsub.js";
import { parseProviderTime } from "../../validation/provider-time.js";
import { recordOutcome, type KycDeps, type KycOutcome } from "./apply-outcome.js";

/**
 * Sumsub: `externalUserId` is our investor id. applicantReviewed GREEN -> approved;
 * RED + FINAL -> rejected, RED + RETRY -> resubmission requested; applicantPending and
 * applicantOnHold -> in review. Other event types carry no verdict (undefined).
 */
export function mapSumsub(p: SumsubPayload, receivedAt: string): KycOutcome | undefined {
  const review = p.reviewResult;
  const answer = review?.reviewAnswer;
  // Sumsub puts reviewRejectType inside reviewResult; accept it at the top level too.
  const rejectType = review?.reviewRejectType ?? p.reviewRejectType;
  let status: KycStatus;
  if (p.type === "applicantReviewed" && answer) status = sumsubReviewStatus(answer, rejectType);
  else if (p.type === "applicantPending" || p.type === "applicantOnHold") status = "in_review";
  else return undefined;
  const at = parseProviderTime(p.createdAtMs) ?? new Date(receivedAt);
  return {
    source: "sumsub",
    eventKey: `sumsub:${p.applicantId}:${p.type}:${answer ?? ""}:${rejectType ?? ""}:${at.toISOString()}`,
    eventType: p.type,
    investor: { by: "id", value: p.externalUserId },
    status,
    eventAt: at,
    verdictKey: sumsubVerdictKey(p.applicantId, status),
    details: {
      applicantId: p.applicantId,
      ...(answer ? { reviewAnswer: answer } : {}),
      ...(rejectType ? { reviewRejectType: rejectType } : {}),
      ...(review?.rejectLabels ? { rejectLabels: review.rejectLabels } : {}),
    },
  };
}

/** `kyc-sumsub`: a Sumsub applicant event applied as a KYC outcome. */
export const sumsubProcessor =
  (deps: KycDeps): Processor<SumsubJob> =>
  (data, job, log) =>
    recordOutcome(deps, mapSumsub(data.payload, data.receivedAt), job.id, log, { type: data.payload.type });
