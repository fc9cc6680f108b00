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

/** Fireblocks' terminal transaction statuses, as a set. */
export const TERMINAL_STATUSES: ReadonlySet<string> = new Set(FIREBLOCKS_TERMINAL);
const TERMINAL_RANK = 1000;

/**
 * A status's place in Fireblocks' lifecycle: copies of a transaction's status only move up,
 * so events applied in any order end in the same state. Unknown statuses rank 0: recorded
 * for a new transaction, never over a known one.
 */
export function statusRank(status: string): number {
  if (TERMINAL_STATUSES.has(status)) return TERMINAL_RANK;
  const i = (FIREBLOCKS_LIFECYCLE as readonly string[]).indexOf(status);
  return i < 0 ? 0 : (i + 1) * 10;
}

/** May a copy at `current` move to `next`? Forward only, and never off a terminal status. */
export const movesForward = (current: string | null, next: string) =>
  current === null || (!TERMINAL_STATUSES.has(current) && statusRank(next) > statusRank(current));
