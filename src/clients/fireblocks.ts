/**
 * Fireblocks' TransactionStatus values, as its API documents them. One list for the webhook
 * reader (which statuses it accepts) and the custody processor (their order).
 */

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
