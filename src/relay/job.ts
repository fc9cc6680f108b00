import { z } from "zod";
import { DAY_SECONDS, type QueueSettings } from "../queues/queue-module.js";
import { eventTypeField, groupIdField, parseEventType, payloadField, timestampField } from "./envelope.js";

/**
 * A broker SQS message as the relay enqueues it: the envelope's fields (checked by the same
 * field schemas as the envelope), its position `sequence` in its message group (assigned once
 * per message_id by the relay; the processor applies a group's events strictly in that order),
 * and where and when it was received. The output adds what the envelope's fields mean:
 * `type` (domain, schema, version) and `publishedAt`.
 */
export const brokerEventJobSchema = z
  .object({
    messageId: z.string().min(1),
    messageGroupId: groupIdField(),
    sequence: z.number().int().positive(),
    eventType: eventTypeField(),
    timestamp: timestampField(),
    payload: payloadField(),
    sourceQueue: z.string().min(1),
    receivedAt: z.iso.datetime(),
  })
  .transform((d) => ({ ...d, type: parseEventType(d.eventType)!, publishedAt: new Date(d.timestamp) }));

/** What the relay adds. */
export type BrokerEventJobData = z.input<typeof brokerEventJobSchema>;
/** What the processor receives. */
export type BrokerEventJob = z.output<typeof brokerEventJobSchema>;

export const brokerEventsQueue: QueueSettings<typeof brokerEventJobSchema> = {
  name: "broker-events",
  schema: brokerEventJobSchema,
  attempts: 10,
  backoffMs: 1_000,
  // The broker may redeliver for five days; keep ids a little longer than that.
  keepCompletedSeconds: 6 * DAY_SECONDS,
  keepFailedSeconds: 30 * DAY_SECONDS,
};

/** BullMQ job ids must not contain ":"; a UUID never does, and lower-casing makes copies agree. */
export const brokerJobId = (messageId: string) => `broker-${messageId.toLowerCase()}`;
