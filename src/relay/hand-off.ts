import type { Queue } from "bullmq";
import type { z } from "zod";
import type { brokerEventJobSchema } from "../queues/definitions.js";
import { brokerJobId, type Envelope } from "./envelope.js";
import type { Sequencer } from "./sequencer.js";

export type BrokerEventJob = z.infer<typeof brokerEventJobSchema>;

export interface HandOffResult {
  jobIds: string[];
  duplicates: number;
}

/**
 * Put a batch of valid envelopes on the broker-events queue. Numbers each message in its
 * group first (idempotent), then adds the jobs in one round trip. A copy claimed before whose
 * job is already in Redis (the DR twin, a redelivery) is not added again: every job added
 * costs BullMQ's add script, and with two queues half the messages are such copies. A copy
 * claimed before whose job is missing is added: the earlier attempt may have died between the
 * claim and the add (or the job completed and was removed; the processor applies an event
 * once). Resolves only once Redis has every job of the batch.
 */
export async function handOff(
  queue: Queue,
  sequencer: Sequencer,
  envelopes: Envelope[],
  source: { queue: string; receivedAt: Date },
): Promise<HandOffResult> {
  if (envelopes.length === 0) return { jobIds: [], duplicates: 0 };
  const jobIds = envelopes.map((e) => brokerJobId(e.message_id));
  const claims = await sequencer.claim(
    envelopes.map((e, i) => ({ messageId: e.message_id, groupId: e.message_group_id, jobKey: queue.toKey(jobIds[i]!) })),
  );
  const jobs = envelopes.flatMap((e, i) => {
    if (claims[i]!.jobExists) return [];
    const data: BrokerEventJob = {
      messageId: e.message_id.toLowerCase(),
      messageGroupId: e.message_group_id,
      sequence: claims[i]!.sequence,
      eventType: e.event_type,
      timestamp: e.timestamp,
      payload: e.payload,
      sourceQueue: source.queue,
      receivedAt: source.receivedAt.toISOString(),
    };
    return [{ name: e.event_type, data, opts: { jobId: jobIds[i]! } }];
  });
  if (jobs.length > 0) await queue.addBulk(jobs);
  return { jobIds, duplicates: claims.filter((c) => !c.fresh).length };
}
