import { UnrecoverableError } from "bullmq";
import type { Logger } from "../../log.js";
import type { FiatEvent } from "../../server/webhooks/providers/bakkt.js";
import { isPositiveDecimal } from "../../validation/decimal.js";
import { parseProviderTime } from "../../validation/provider-time.js";
import { applyFailedPayment } from "./order-payments.js";
import { payAndMint, type PaymentDeps } from "./payments.js";

/**
 * Broker FIAT_EVENT: a completed DEPOSIT pays the order named by `partnerTransactionRef`;
 * a declined or cancelled deposit fails it; anything else (pending, withdrawals) is noted
 * only. A missing or unreadable `created` falls back to when the webhook was received.
 */
export async function applyFiatDeposit(deps: PaymentDeps, e: FiatEvent, receivedAt: string, log: Logger): Promise<unknown> {
  if (e.fiatTransactType !== "DEPOSIT") return { outcome: "ignored", reason: `fiatTransactType ${e.fiatTransactType}` };
  const referenceId = e.partnerTransactionRef;
  if (!referenceId) throw new UnrecoverableError(`DEPOSIT ${e.transactionId} names no order (partnerTransactionRef)`);
  if (e.transactionStatus === "DECLINED" || e.transactionStatus === "CANCELLED") {
    const reason = e.declineReason?.description ?? e.transactionStatus;
    const outcome = await applyFailedPayment(deps.db, { source: "bakkt", referenceId, proof: e.transactionId, reason });
    return { outcome };
  }
  if (e.transactionStatus !== "COMPLETED") return { outcome: "ignored", reason: `transactionStatus ${e.transactionStatus}` };
  if (!isPositiveDecimal(e.amount)) throw new UnrecoverableError(`DEPOSIT ${e.transactionId}: amount ${e.amount} is not above zero`);
  const paidAt = parseProviderTime(e.created) ?? new Date(receivedAt);
  const outcome = await payAndMint(deps, { source: "bakkt", referenceId, amount: e.amount, currency: e.currency, proof: e.transactionId, paidAt }, receivedAt);
  log.info({ referenceId, outcome }, "broker deposit applied");
  return { outcome };
}
