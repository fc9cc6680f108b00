import { z } from "zod";
import { idString, issuesOf, type ReadResult } from "./fields.js";
import { eventJobId } from "./job-id.js";

/** Fireblocks' non-terminal transaction statuses, in lifecycle order. */
export const FIREBLOCKS_LIFECYCLE = [
  "SUBMITTED",
  "PENDING_AML_SCREENING",
  "PENDING_ENRICHMENT",
  "PENDING_AUTHORIZATION",
  "QUEUED",
  "PENDING_SIGNATURE",
  "PENDING_3RD_PARTY_MANUAL_APPROVAL",
  "PENDING_3RD_PARTY",
  "BROADCASTING",
  "CONFIRMING",
  "CANCELLING",
] as const;
/** Fireblocks' terminal statuses: once reached, nothing changes the status again. */
export const FIREBLOCKS_TERMINAL = ["COMPLETED", "FAILED", "REJECTED", "CANCELLED", "BLOCKED"] as const;
/** Fireblocks TransactionStatus values. */
export const FIREBLOCKS_STATUSES = [...FIREBLOCKS_LIFECYCLE, ...FIREBLOCKS_TERMINAL] as const;
export const FIREBLOCKS_V1_TYPES = ["TRANSACTION_CREATED", "TRANSACTION_STATUS_UPDATED"] as const;
export const FIREBLOCKS_V2_TYPES = ["transaction.created", "transaction.status.updated"] as const;

const transaction = z.looseObject({
  id: idString(),
  status: z.enum(FIREBLOCKS_STATUSES, { error: "expected a Fireblocks transaction status (SUBMITTED, COMPLETED, ...)" }),
  subStatus: z.string().optional(),
  txHash: z.string().optional(),
});

const v1 = z.looseObject({
  type: z.enum(FIREBLOCKS_V1_TYPES, { error: `expected one of ${FIREBLOCKS_V1_TYPES.join(", ")}` }),
  data: transaction,
});

const v2 = z.looseObject({
  id: z.string().optional(),
  eventType: z.enum(FIREBLOCKS_V2_TYPES, { error: `expected one of ${FIREBLOCKS_V2_TYPES.join(", ")}` }),
  data: transaction,
});

/**
 * Fireblocks transaction events, v1 (`type`) or v2 (`eventType`). Identity: the transaction
 * id and the state it reports (status + subStatus), so the same change delivered by v1 and
 * by v2 during a migration is one job, and every real status change is its own.
 */
export function readFireblocks(json: unknown): ReadResult {
  const isV2 = typeof json === "object" && json !== null && "eventType" in json;
  let type: string;
  let eventId: string | undefined;
  let payload: z.output<typeof v1> | z.output<typeof v2>;
  if (isV2) {
    const r = v2.safeParse(json);
    if (!r.success) return { ok: false, issues: issuesOf(r.error) };
    ({ eventType: type, id: eventId } = r.data);
    payload = r.data;
  } else {
    const r = v1.safeParse(json);
    if (!r.success) return { ok: false, issues: issuesOf(r.error) };
    type = r.data.type;
    payload = r.data;
  }
  const tx = payload.data;
  return {
    ok: true,
    event: {
      eventId: eventId || `${tx.id}/${tx.status}`,
      jobId: eventJobId("fb", [tx.id, tx.status, tx.subStatus ?? ""]),
      jobName: type,
      payload,
    },
  };
}
