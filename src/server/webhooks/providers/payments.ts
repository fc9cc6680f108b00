import { z } from "zod";
import { eventJobId } from "../../../queues/job-id.js";
import { amountField, currencyCode, dateTimeString, idString } from "../../../validation/fields.js";
import { allowlistSetting, defineProvider, secretsVerifier, webhookQueue, type WebhookJob } from "../provider.js";
import { StandardWebhooksVerifier } from "../verify/standard-webhooks.js";

export const PAYMENT_RAILS = ["RTGS", "SWIFT", "SEPA", "FEDNOW", "ACH"] as const;
export const PAYMENT_TYPES = ["payment.completed", "payment.failed"] as const;

/**
 * A bank-rail payment confirmation: the playbook's payment webhook plus `type`, `rail` and,
 * for a failure, `reason`. The body's `signature` field (the playbook prints one) is accepted
 * and dropped: the header is what is verified, and the job never carries signatures.
 */
export const paymentPayload = z
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
    reason: z.string().max(1_000).optional(),
    signature: z.string().optional(),
  })
  .transform(({ signature: _ignored, ...rest }) => rest);

export type PaymentPayload = z.output<typeof paymentPayload>;
export const paymentsQueue = webhookQueue("payments", paymentPayload);
export type PaymentJob = WebhookJob<PaymentPayload>;

/** Bank rails (RTGS, SWIFT, SEPA, FedNow, ACH), signed with Standard Webhooks. */
export const paymentsProvider = defineProvider({
  name: "payments",
  path: "/payments",
  reader: paymentPayload,
  // Identity: the bank's transaction id and the outcome (a failure then a retry-success are two events).
  identify: (p) => ({ eventId: p.bankTransactionId, jobId: eventJobId("pay", [p.bankTransactionId, p.type]), jobName: p.type }),
  queue: paymentsQueue,
  verifier: secretsVerifier("PAYMENTS_WEBHOOK_SECRETS", (secrets) => new StandardWebhooksVerifier(secrets)),
  allowlist: allowlistSetting("PAYMENTS_IP_ALLOWLIST"),
});
