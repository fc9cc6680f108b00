import type { Context } from "hono";
import type { Kysely, Updateable } from "kysely";
import type { Database, OrdersTable, OrderStatus } from "../../db/schema.js";
import type { AuthVariables } from "../auth/identity.js";
import { identifier, parseBody, reasonInput } from "./validation.js";

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
  return async (c: Context<{ Variables: AuthVariables }>) => {
    const ref = identifier.safeParse(c.req.param("referenceId"));
    if (!ref.success) return c.json({ error: "no such order" }, 404);
    const parsed = await parseBody(c, reasonInput);
    if ("response" in parsed) return parsed.response;
    c.set("auditDetail", { reason: parsed.data.reason });
    const outcome = await resolveFlagged(db, ref.data, action, parsed.data.reason);
    if ("missing" in outcome) return c.json({ error: "no such order" }, 404);
    if ("conflict" in outcome) return c.json({ error: `order ${ref.data} is ${outcome.conflict}, not flagged; nothing changed` }, 409);
    // After commit: a lost enqueue (crash here) is recovered like any minting order's (the mint job is idempotent).
    if (outcome.status === "minting") await onAccepted(ref.data);
    return c.json({ referenceId: ref.data, status: outcome.status });
  };
}
