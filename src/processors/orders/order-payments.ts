import { UnrecoverableError } from "bullmq";
import type { Kysely } from "kysely";
import type { Database } from "../../db/schema.js";
import { decimalEquals } from "../../validation/decimal.js";

/** A completed payment, as the bank rail or the broker reported it. */
export interface CompletedPayment {
  source: "bank" | "bakkt";
  /** Our order reference: the bank's `referenceId` or the broker's `partnerTransactionRef`. */
  referenceId: string;
  /** Exact decimal string. */
  amount: string;
  currency: string;
  /** The provider's id of the money movement: kept as the order's payment proof. */
  proof: string;
  paidAt: Date;
}

/** The payment may arrive before its order is created: a retryable error, dead-lettered after the last attempt. */
export class UnknownOrderError extends Error {
  override name = "UnknownOrderError";
  constructor(referenceId: string) {
    super(`no order with reference ${referenceId} (yet)`);
  }
}

export type PaymentOutcome = "minting" | "awaiting_kyc" | "already_applied" | "completed";

/**
 * Apply a completed payment to its order in one transaction. The order row is locked, and the
 * investor row is read FOR SHARE so a KYC approval committing at the same moment either is
 * seen here or sees this order waiting (approval updates the investor row, then releases).
 * A mismatch flags the order, commits, then fails the job as unrecoverable.
 */
export async function applyCompletedPayment(db: Kysely<Database>, p: CompletedPayment): Promise<PaymentOutcome> {
  const result = await db.transaction().execute(async (trx) => {
    const order = await trx.selectFrom("orders").selectAll().where("reference_id", "=", p.referenceId).forUpdate().executeTakeFirst();
    if (!order) throw new UnknownOrderError(p.referenceId);
    const samePayment = order.payment_source === p.source && order.payment_proof === p.proof;
    if (samePayment && (order.status === "minting" || order.status === "awaiting_kyc")) return { outcome: "already_applied" as const, status: order.status };
    if (samePayment && order.status === "completed") return { outcome: "completed" as const, status: order.status };
    if (order.status === "flagged") return { error: `order ${p.referenceId} is flagged: ${order.flag_reason}` };
    if (order.status !== "pending") {
      return {
        error: `order ${p.referenceId} is ${order.status}${order.payment_proof ? ` (paid by ${order.payment_source} ${order.payment_proof})` : ""}; payment ${p.source} ${p.proof} was not applied`,
      };
    }
    const problems: string[] = [];
    if (p.currency.toUpperCase() !== order.currency.toUpperCase()) problems.push(`currency ${p.currency} != expected ${order.currency}`);
    if (!decimalEquals(p.amount, order.expected_amount)) problems.push(`amount ${p.amount} != expected ${order.expected_amount}`);
    const payment = { payment_source: p.source, payment_proof: p.proof, paid_amount: p.amount, paid_currency: p.currency, updated_at: new Date() };
    if (problems.length) {
      const reason = `payment ${p.source} ${p.proof} does not match order ${p.referenceId}: ${problems.join("; ")}`;
      await trx
        .updateTable("orders")
        .set({ ...payment, status: "flagged", flag_reason: reason })
        .where("reference_id", "=", p.referenceId)
        .execute();
      return { error: reason };
    }
    const investor = await trx.selectFrom("investors").select("kyc_status").where("id", "=", order.investor_id).forShare().executeTakeFirstOrThrow();
    const status = investor.kyc_status === "approved" ? ("minting" as const) : ("awaiting_kyc" as const);
    await trx
      .updateTable("orders")
      .set({ ...payment, status, paid_at: p.paidAt })
      .where("reference_id", "=", p.referenceId)
      .execute();
    return { outcome: status, status };
  });
  if ("error" in result) throw new UnrecoverableError(result.error!);
  // A redelivery of an applied payment whose mint job may have been lost (crash between commit
  // and enqueue) reports minting again, so the caller re-ensures the mint job.
  return result.outcome === "already_applied" && result.status === "minting" ? "minting" : result.outcome;
}

/** A failed payment fails its order unless the order is already being fulfilled. */
export async function applyFailedPayment(
  db: Kysely<Database>,
  p: { source: "bank" | "bakkt"; referenceId: string; proof: string; reason: string },
): Promise<"failed" | "ignored"> {
  return db.transaction().execute(async (trx) => {
    const order = await trx.selectFrom("orders").selectAll().where("reference_id", "=", p.referenceId).forUpdate().executeTakeFirst();
    if (!order) throw new UnknownOrderError(p.referenceId);
    if (order.status !== "pending" && order.status !== "awaiting_kyc") return "ignored";
    await trx
      .updateTable("orders")
      .set({ status: "failed", failure_reason: `${p.source} payment ${p.proof} failed: ${p.reason}`, updated_at: new Date() })
      .where("reference_id", "=", p.referenceId)
      .execute();
    return "failed";
  });
}
