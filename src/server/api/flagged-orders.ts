import type { Kysely, Updateable } from "kysely";
import type { Database, OrdersTable, OrderStatus } from "../../db/schema.js";
import { operatorAction } from "./operator-action.js";

/** What an operator may do with an order flagged for a payment that did not match it. */
export type FlaggedAction = "accept-payment" | "cancel" | "reopen";

export type FlaggedOutcome = { status: OrderStatus } | { conflict: OrderStatus } | { missing: true };

/**
 * Resolve a flagged order, exactly once: each action is one UPDATE conditional on
 * `status = 'flagged'`, so of two concurrent attempts one wins and the other finds the order
 * no longer flagged (409).
 *
 * - accept-payment: the payment is taken as received; the order's token amount is KEPT (it is
 *   what the investor ordered; hookrail has no price to re-derive it from). The order goes on
 *   as a matching payment would: minting if the investor's KYC is approved, else awaiting_kyc.
 * - cancel: refund_pending; the money is returned outside hookrail.
 * - reopen: pending again with the payment cleared, so a new, matching payment applies.
 */
export async function resolveFlagged(db: Kysely<Database>, ref: string, action: FlaggedAction, note: string): Promise<FlaggedOutcome> {
  return db.transaction().execute(async (trx) => {
    const order = await trx.selectFrom("orders").select(["status", "investor_id"]).where("reference_id", "=", ref).executeTakeFirst();
    if (!order) return { missing: true as const };
    let set: Updateable<OrdersTable>;
    if (action === "accept-payment") {
      const investor = await trx.selectFrom("investors").select("kyc_status").where("id", "=", order.investor_id).forShare().executeTakeFirstOrThrow();
      set = { status: investor.kyc_status === "approved" ? "minting" : "awaiting_kyc", paid_at: new Date() };
    } else if (action === "cancel") {
      set = { status: "refund_pending", failure_reason: `cancelled after a mismatched payment, refund pending: ${note}` };
    } else {
      set = { status: "pending", payment_source: null, payment_proof: null, paid_amount: null, paid_currency: null, paid_at: null, flag_reason: null };
    }
    const updated = await trx
      .updateTable("orders")
      .set({ ...set, updated_at: new Date() })
      .where("reference_id", "=", ref)
      .where("status", "=", "flagged")
      .returning("status")
      .executeTakeFirst();
    if (updated) return { status: updated.status };
    const now = await trx.selectFrom("orders").select("status").where("reference_id", "=", ref).executeTakeFirstOrThrow();
    return { conflict: now.status };
  });
}

/** `POST /orders/:referenceId/{accept-payment|cancel|reopen}` with `{"reason": "..."}`. */
export function flaggedOrderHandler(db: Kysely<Database>, action: FlaggedAction, onAccepted: (ref: string) => Promise<void>) {
  return operatorAction({
    param: "referenceId",
    notFound: "no such order",
    run: async (ref, reason) => {
      const outcome = await resolveFlagged(db, ref, action, reason);
      if ("conflict" in outcome) return { conflict: `order ${ref} is ${outcome.conflict}, not flagged; nothing changed` };
      // After commit: a lost enqueue (crash here) is recovered like any minting order's (the mint job is idempotent).
      if ("status" in outcome && outcome.status === "minting") await onAccepted(ref);
      return outcome;
    },
    answer: (ref, done: { status: OrderStatus }) => ({ referenceId: ref, status: done.status }),
  });
}
