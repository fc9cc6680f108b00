import { UnrecoverableError, type Job } from "bullmq";
import type { Kysely } from "kysely";
import { z } from "zod";
import type { Database } from "../db/schema.js";
import type { Logger } from "../log.js";
import type { WebhookJob } from "../queues/definitions.js";
import type { QueueSet } from "../queues/registry.js";
import { paymentAmount } from "./decimal-amount.js";
import { applyCompletedPayment, applyFailedPayment, enqueueMint, type CompletedPayment, type PaymentOutcome } from "./order-payments.js";
import { parseProviderTime } from "./provider-time.js";
import type { Processor } from "./types.js";

/** The bank rails' payment notification (payment-rail section of the playbook). */
const bankPaymentSchema = z.object({
  type: z.enum(["payment.completed", "payment.failed"]).optional(),
  referenceId: z.string().min(1),
  amount: z.union([z.number(), z.string()]),
  currency: z.string().min(1),
  bankTransactionId: z.string().min(1),
  timestamp: z.string().optional(),
  rail: z.string().optional(),
  reason: z.string().optional(),
});

const describe = (err: z.ZodError) => err.issues.map((i) => `${i.path.join(".") || "payload"}: ${i.message}`).join("; ");

export interface PaymentDeps {
  db: Kysely<Database>;
  queues: QueueSet;
}

/** A completed payment as a provider states it: amount and time not yet checked. */
interface ProviderPayment extends Omit<CompletedPayment, "amount" | "paidAt"> {
  amount: unknown;
  paidAt: string | undefined;
}

/**
 * Pay the order (the amount must be a positive exact decimal), then start its mint if it is
 * due. A missing or unreadable payment time falls back to when the webhook was received.
 */
async function payAndMint(deps: PaymentDeps, job: Job<WebhookJob>, invalid: string, p: ProviderPayment): Promise<PaymentOutcome> {
  const amount = paymentAmount(p.amount);
  if (!amount) throw new UnrecoverableError(`${invalid}: amount ${JSON.stringify(p.amount)} is not a positive exact decimal`);
  const paidAt = parseProviderTime(p.paidAt) ?? new Date(job.data.receivedAt);
  const outcome = await applyCompletedPayment(deps.db, { ...p, amount, paidAt });
  if (outcome === "minting") await enqueueMint(deps.queues, p.referenceId, job.data.receivedAt);
  return outcome;
}

/**
 * Bank `payment.completed` pays the order whose `referenceId` it carries (amount and currency
 * exact), then the order is minted (or waits for KYC). `payment.failed` fails the order.
 */
export function bankPaymentProcessor(deps: PaymentDeps): Processor<WebhookJob> {
  return async (job: Job<WebhookJob>, log) => {
    const parsed = bankPaymentSchema.safeParse(job.data.payload);
    if (!parsed.success) throw new UnrecoverableError(`invalid bank payment: ${describe(parsed.error)}`);
    const p = parsed.data;
    if (p.type === "payment.failed") {
      const outcome = await applyFailedPayment(deps.db, { source: "bank", referenceId: p.referenceId, proof: p.bankTransactionId, reason: p.reason ?? "payment.failed" });
      log.info({ referenceId: p.referenceId, outcome }, "failed payment applied");
      return { outcome };
    }
    const outcome = await payAndMint(deps, job, "invalid bank payment", {
      source: "bank",
      referenceId: p.referenceId,
      amount: p.amount,
      currency: p.currency,
      proof: p.bankTransactionId,
      paidAt: p.timestamp,
    });
    log.info({ referenceId: p.referenceId, outcome }, "payment applied");
    return { outcome };
  };
}

const fiatEventSchema = z.object({
  amount: z.union([z.number(), z.string()]),
  currency: z.string().min(1),
  created: z.string().optional(),
  transactionId: z.string().min(1),
  partnerTransactionRef: z.string().min(1),
  fiatTransactType: z.string(),
  transactionStatus: z.string(),
  declineReason: z.object({ type: z.string().optional(), description: z.string().optional() }).partial().optional(),
});

/**
 * Broker FIAT_EVENT: a completed DEPOSIT pays the order named by `partnerTransactionRef`;
 * a declined or cancelled deposit fails it; anything else (pending, withdrawals) is noted only.
 */
export async function applyFiatEvent(deps: PaymentDeps, job: Job<WebhookJob>, log: Logger): Promise<unknown> {
  // The broker's examples nest the fields in `fiatEvent`; its field list has them at the top level.
  const nested = job.data.payload.fiatEvent;
  const fields = nested && typeof nested === "object" && !Array.isArray(nested) ? nested : job.data.payload;
  const parsed = fiatEventSchema.safeParse(fields);
  if (!parsed.success) throw new UnrecoverableError(`invalid FIAT_EVENT: ${describe(parsed.error)}`);
  const e = parsed.data;
  if (e.fiatTransactType !== "DEPOSIT") return { outcome: "ignored", reason: `fiatTransactType ${e.fiatTransactType}` };
  if (e.transactionStatus === "DECLINED" || e.transactionStatus === "CANCELLED") {
    const reason = e.declineReason?.description ?? e.transactionStatus;
    const outcome = await applyFailedPayment(deps.db, { source: "bakkt", referenceId: e.partnerTransactionRef, proof: e.transactionId, reason });
    return { outcome };
  }
  if (e.transactionStatus !== "COMPLETED") return { outcome: "ignored", reason: `transactionStatus ${e.transactionStatus}` };
  const outcome = await payAndMint(deps, job, "invalid FIAT_EVENT", {
    source: "bakkt",
    referenceId: e.partnerTransactionRef,
    amount: e.amount,
    currency: e.currency,
    proof: e.transactionId,
    paidAt: e.created,
  });
  log.info({ referenceId: e.partnerTransactionRef, outcome }, "broker deposit applied");
  return { outcome };
}
