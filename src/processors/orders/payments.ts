import type { Kysely } from "kysely";
import type { Database } from "../../db/schema.js";
import type { QueueSet } from "../../queues/queue-set.js";
import type { Processor } from "../../queues/queue-module.js";
import type { PaymentJob } from "../../server/webhooks/providers/payments.js";
import { enqueueMint } from "./mint.js";
import { applyCompletedPayment, applyFailedPayment, type CompletedPayment, type PaymentOutcome } from "./order-payments.js";

export interface PaymentDeps {
  db: Kysely<Database>;
  queues: QueueSet;
}

/** Pay the order, then start its mint if it is due (the investor is KYC-approved). */
export async function payAndMint(deps: PaymentDeps, p: CompletedPayment, receivedAt: string): Promise<PaymentOutcome> {
  const outcome = await applyCompletedPayment(deps.db, p);
  if (outcome === "minting") await enqueueMint(deps.queues, p.referenceId, receivedAt);
  return outcome;
}

/**
 * `payments`: a bank `payment.completed` pays the order whose `referenceId` it carries
 * (amount and currency exact), then the order is minted (or waits for KYC). `payment.failed`
 * fails the order.
 */
export function bankPaymentsProcessor(deps: PaymentDeps): Processor<PaymentJob> {
  return async ({ payload: p, receivedAt }, _job, log) => {
    if (p.type === "payment.failed") {
      const outcome = await applyFailedPayment(deps.db, {
        source: "bank",
        referenceId: p.referenceId,
        proof: p.bankTransactionId,
        reason: p.reason ?? "payment.failed",
      });
      log.info({ referenceId: p.referenceId, outcome }, "failed payment applied");
      return { outcome };
    }
    const outcome = await payAndMint(
      deps,
      { source: "bank", referenceId: p.referenceId, amount: p.amount, currency: p.currency, proof: p.bankTransactionId, paidAt: new Date(p.timestamp) },
      receivedAt,
    );
    log.info({ referenceId: p.referenceId, outcome }, "payment applied");
    return { outcome };
  };
}
