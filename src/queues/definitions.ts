import { z } from "zod";
import type { DefaultJobOptions } from "bullmq";
import type { QueueName } from "./names.js";

/**
 * The job a webhook receiver enqueues: the verified payload, the provider's own id of the
 * event, and when we received it. Never the signature headers or any secret.
 */
export const webhookJobSchema = z.object({
  eventId: z.string().min(1),
  receivedAt: z.string(),
  payload: z.record(z.string(), z.unknown()),
});
export type WebhookJob = z.infer<typeof webhookJobSchema>;

/**
 * A broker SQS message as the relay enqueues it. `sequence` is the message's position in its
 * message group (assigned once per message_id by the relay); the processor applies a group's
 * events strictly in that order.
 */
export const brokerEventJobSchema = z.object({
  messageId: z.string().min(1),
  messageGroupId: z.string().min(1),
  sequence: z.number().int().positive(),
  eventType: z.string().min(1),
  timestamp: z.string(),
  payload: z.record(z.string(), z.unknown()),
  sourceQueue: z.string(),
  receivedAt: z.string(),
});

/** Mint the tokens of one paid order; one job id per order (`mint-<referenceId>`). */
export const mintJobSchema = z.object({
  referenceId: z.string().min(1),
  /** When the payment that triggered the mint was received (webhook-to-effect latency). */
  receivedAt: z.string().optional(),
});

export const periodJobSchema = z.object({ period: z.string().regex(/^\d{4}-\d{2}(-\d{2})?$/) });

export const screeningJobSchema = z.object({ period: z.string(), investorId: z.string().min(1) });

export const dividendJobSchema = z.object({
  period: z.string().optional(),
  distributionId: z.string().optional(),
});

export interface QueueDefinition<S extends z.ZodType = z.ZodType> {
  name: QueueName;
  schema: S;
  /** Attempts before the job is dead-lettered. */
  attempts: number;
  /** First retry delay; doubles each attempt (BullMQ exponential backoff). */
  backoffMs: number;
  /** Completed jobs are kept this long so ordinary redeliveries hit the same job id. */
  keepCompletedSeconds: number;
  /** Failed jobs stay visible in the board this long; their dead letter keeps the details. */
  keepFailedSeconds: number;
}

const DAY = 24 * 60 * 60;

const webhookQueue = (name: QueueName): QueueDefinition =>
  ({ name, schema: webhookJobSchema, attempts: 10, backoffMs: 2_000, keepCompletedSeconds: 7 * DAY, keepFailedSeconds: 30 * DAY });

export const QUEUES: Record<QueueName, QueueDefinition> = {
  payments: webhookQueue("payments"),
  "bakkt-webhooks": webhookQueue("bakkt-webhooks"),
  "kyc-sumsub": webhookQueue("kyc-sumsub"),
  "custody-fireblocks": webhookQueue("custody-fireblocks"),
  mints: { name: "mints", schema: mintJobSchema, attempts: 10, backoffMs: 2_000, keepCompletedSeconds: 7 * DAY, keepFailedSeconds: 30 * DAY },
  "broker-events": {
    name: "broker-events",
    schema: brokerEventJobSchema,
    attempts: 10,
    backoffMs: 1_000,
    // The broker may redeliver for five days; keep ids a little longer than that.
    keepCompletedSeconds: 6 * DAY,
    keepFailedSeconds: 30 * DAY,
  },
  "aml-rescreen": { name: "aml-rescreen", schema: periodJobSchema, attempts: 5, backoffMs: 5_000, keepCompletedSeconds: 60 * DAY, keepFailedSeconds: 60 * DAY },
  "aml-screening": { name: "aml-screening", schema: screeningJobSchema, attempts: 8, backoffMs: 5_000, keepCompletedSeconds: 60 * DAY, keepFailedSeconds: 60 * DAY },
  dividends: { name: "dividends", schema: dividendJobSchema, attempts: 10, backoffMs: 5_000, keepCompletedSeconds: 60 * DAY, keepFailedSeconds: 60 * DAY },
};

export function jobOptions(def: QueueDefinition): DefaultJobOptions {
  return {
    attempts: def.attempts,
    backoff: { type: "exponential", delay: def.backoffMs },
    removeOnComplete: { age: def.keepCompletedSeconds },
    removeOnFail: { age: def.keepFailedSeconds },
  };
}
