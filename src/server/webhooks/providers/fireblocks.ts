import { z } from "zod";
import { FIREBLOCKS_STATUSES } from "../../../clients/fireblocks.js";
import { eventJobId } from "../../../queues/job-id.js";
import { idString } from "../../../validation/fields.js";
import { allowlistSetting, defineProvider, webhookQueue, type WebhookJob } from "../provider.js";
import { FireblocksVerifier } from "../verify/fireblocks.js";
import { FireblocksV1Verifier } from "../verify/fireblocks-v1.js";
import { FireblocksV2Verifier } from "../verify/fireblocks-v2.js";

export const FIREBLOCKS_V1_TYPES = ["TRANSACTION_CREATED", "TRANSACTION_STATUS_UPDATED"] as const;
export const FIREBLOCKS_V2_TYPES = ["transaction.created", "transaction.status.updated"] as const;

const transaction = z.looseObject({
  id: idString(),
  status: z.enum(FIREBLOCKS_STATUSES, { error: "expected a Fireblocks transaction status (SUBMITTED, COMPLETED, ...)" }),
  subStatus: z.string().optional(),
  txHash: z.string().optional(),
  /** Ours when we created the transaction: a custody transfer's id, or a chain intent's key (SIGNER_BACKEND=fireblocks). */
  externalTxId: z.string().nullish(),
});

/** When Fireblocks raised the event: epoch milliseconds (v1 `timestamp`, v2 `createdAt`), or a date string. */
const eventTime = z.union([z.number(), z.string()]).optional();

const v1 = z.looseObject({
  type: z.enum(FIREBLOCKS_V1_TYPES, { error: `expected one of ${FIREBLOCKS_V1_TYPES.join(", ")}` }),
  timestamp: eventTime,
  data: transaction,
});

const v2 = z.looseObject({
  id: z.string().optional(),
  eventType: z.enum(FIREBLOCKS_V2_TYPES, { error: `expected one of ${FIREBLOCKS_V2_TYPES.join(", ")}` }),
  createdAt: eventTime,
  data: transaction,
});

type V1Event = z.output<typeof v1>;
type V2Event = z.output<typeof v2>;
export type FireblocksPayload = V1Event | V2Event;

export const isV2Event = (p: FireblocksPayload): p is V2Event => typeof p.eventType === "string";

/** A Fireblocks transaction event, v1 (`type`) or v2 (`eventType`): told apart by which field is present. */
export const fireblocksPayload = z.unknown().transform((json, ctx): FireblocksPayload => {
  const schema = typeof json === "object" && json !== null && "eventType" in json ? v2 : v1;
  const r = schema.safeParse(json);
  if (r.success) return r.data;
  for (const issue of r.error.issues) ctx.addIssue({ code: "custom", path: issue.path, message: issue.message });
  return z.NEVER;
});

export const fireblocksQueue = webhookQueue("custody-fireblocks", fireblocksPayload);
export type FireblocksJob = WebhookJob<FireblocksPayload>;

/** Fireblocks custody transaction events, v1 (RSA-SHA512) or v2 (detached JWS, JWKS by kid). */
export const fireblocksProvider = defineProvider({
  name: "fireblocks",
  path: "/custody/fireblocks",
  reader: fireblocksPayload,
  // Identity: the transaction id and the state it reports (status + subStatus), so the same
  // change delivered by v1 and by v2 during a migration is one job, and every real status
  // change is its own.
  identify: (p) => ({
    eventId: (isV2Event(p) ? p.id : undefined) || `${p.data.id}/${p.data.status}`,
    jobId: eventJobId("fb", [p.data.id, p.data.status, p.data.subStatus ?? ""]),
    jobName: isV2Event(p) ? p.eventType : p.type,
  }),
  queue: fireblocksQueue,
  verifier: (config) => {
    const v1Verifier = new FireblocksV1Verifier(config.FIREBLOCKS_PUBLIC_KEYS);
    const v2Verifier = config.FIREBLOCKS_JWKS_URL
      ? new FireblocksV2Verifier({ jwksUrl: new URL(config.FIREBLOCKS_JWKS_URL), cooldownMs: config.FIREBLOCKS_JWKS_COOLDOWN_MS })
      : undefined;
    return {
      verifier: new FireblocksVerifier(v1Verifier, v2Verifier),
      configured: v1Verifier.configured || v2Verifier !== undefined,
      settings: "FIREBLOCKS_PUBLIC_KEYS or FIREBLOCKS_JWKS_URL",
    };
  },
  allowlist: allowlistSetting("FIREBLOCKS_IP_ALLOWLIST"),
});
