import { z } from "zod";
import { amountField, currencyCode, dateTimeString, idString, issuesOf, type ReadResult } from "./fields.js";
import { eventJobId } from "./job-id.js";

export const PAYMENT_RAILS = ["RTGS", "SWIFT", "SEPA", "FEDNOW", "ACH"] as const;
export const PAYMENT_TYPES = ["payment.completed", "payment.failed"] as const;

/**
 * A bank-rail payment confirmation: the playbook's payment webhook plus `type` and `rail`.
 * The body's `signature` field (the playbook prints one) is accepted and dropped: the header
 * is what is verified, and the job never carries signatures.
 */
export const paymentSchema = z
  .looseObject({
    referenceId: idString(),
    amount: amountField({ positive: true }),
    currency: currencyCode(),
    bankTransactionId: idString(),
    timestamp: dateTimeString(),
    type: z.enum(PAYMENT_TYPES).default("payment.completed"),
    rail: z
      .string()
      .transform((r) => r.toUpperCase())
      .pipe(z.enum(PAYMENT_RAILS, { error: `expected one of ${PAYMENT_RAILS.join(", ")}` }))
      .optional(),
    signature: z.string().optional(),
  })
  .transform(({ signature: _ignored, ...rest }) => rest);

export type PaymentEvent = z.output<typeof paymentSchema>;

/** Identity: the bank's transaction id and the outcome (a failure then a retry-success are two events). */
export function readPayment(json: unknown): ReadResult {
  const r = paymentSchema.safeParse(json);
  if (!r.success) return { ok: false, issues: issuesOf(r.error) };
  const p = r.data;
  return {
    ok: true,
    event: {
      eventId: p.bankTransactionId,
      jobId: eventJobId("pay", [p.bankTransactionId, p.type]),
      jobName: p.type,
      payload: p,
    },
  };
}
