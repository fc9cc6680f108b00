import { z } from "zod";
import { eventJobId } from "../../../queues/job-id.js";
import { idString, textOrNumber } from "../../../validation/fields.js";
import { allowlistSetting, defineProvider, secretsVerifier, webhookQueue, type WebhookJob } from "../provider.js";
import { SumsubDigestVerifier } from "../verify/sumsub-digest.js";

/** Sumsub's applicant webhook types (https://docs.sumsub.com/docs/user-verification-webhooks). */
export const SUMSUB_TYPES = [
  "applicantCreated",
  "applicantPending",
  "applicantReviewed",
  "applicantOnHold",
  "applicantActionPending",
  "applicantActionReviewed",
  "applicantActionOnHold",
  "applicantAwaitingService",
  "applicantAwaitingUser",
  "applicantPersonalInfoChanged",
  "applicantTagsChanged",
  "applicantActivated",
  "applicantDeactivated",
  "applicantDeleted",
  "applicantReset",
  "applicantPrechecked",
  "applicantLevelChanged",
  "applicantWorkflowCompleted",
  "applicantWorkflowFailed",
  "videoIdentStatusChanged",
] as const;

const REVIEW_ANSWERS = ["GREEN", "RED"] as const;
const REJECT_TYPES = ["FINAL", "RETRY", "EXTERNAL"] as const;

const reviewResult = z.looseObject({
  reviewAnswer: z.enum(REVIEW_ANSWERS, { error: "expected GREEN or RED" }),
  reviewRejectType: z.enum(REJECT_TYPES, { error: `expected one of ${REJECT_TYPES.join(", ")}` }).nullish(),
  rejectLabels: z.array(z.string()).nullish(),
});

export const sumsubPayload = z
  .looseObject({
    applicantId: idString(),
    externalUserId: idString(),
    type: z.enum(SUMSUB_TYPES, { error: `expected a Sumsub applicant event type (${SUMSUB_TYPES.slice(0, 4).join(", ")}, ...)` }),
    // Sumsub sends `"reviewResult": null` (and null for other absent fields) on events that
    // carry no review answer: applicantCreated, applicantPending, applicantOnHold, ...
    reviewResult: reviewResult.nullish(),
    reviewRejectType: z.enum(REJECT_TYPES).nullish(),
    reviewStatus: z.string().nullish(),
    // Sumsub prints it as "2020-02-21 13:23:19.321"; epoch milliseconds are accepted too.
    createdAtMs: textOrNumber(),
  })
  .superRefine((p, ctx) => {
    if ((p.type === "applicantReviewed" || p.type === "applicantActionReviewed") && !p.reviewResult) {
      ctx.addIssue({ code: "custom", path: ["reviewResult"], message: `required for ${p.type}` });
    }
  });

export type SumsubPayload = z.output<typeof sumsubPayload>;
export const sumsubQueue = webhookQueue("kyc-sumsub", sumsubPayload);
export type SumsubJob = WebhookJob<SumsubPayload>;

/** Sumsub KYC applicant events, signed with X-Payload-Digest. */
export const sumsubProvider = defineProvider({
  name: "sumsub",
  path: "/kyc/sumsub",
  reader: sumsubPayload,
  // Identity: applicant + event type + Sumsub's creation time of the event.
  identify: (p) => ({
    eventId: `${p.applicantId}/${p.type}/${p.createdAtMs}`,
    jobId: eventJobId("sumsub", [p.applicantId, p.type, p.createdAtMs]),
    jobName: p.type,
  }),
  queue: sumsubQueue,
  verifier: secretsVerifier("SUMSUB_WEBHOOK_SECRETS", (secrets) => new SumsubDigestVerifier(secrets)),
  allowlist: allowlistSetting("SUMSUB_IP_ALLOWLIST"),
});
