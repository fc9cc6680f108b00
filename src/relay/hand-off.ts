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
 * group first (idempotent), then adds all jobs in one round trip. Adding a job whose id
 * exists is a no-op in BullMQ, so a copy claimed before is still added: the earlier attempt
 * may have died between the claim and the add. Resolves only once Redis has the jobs.
 */
export async function handOff(
  queue: Queue,
  sequencer: Sequencer,
  envelopes: Envelope[],
  source: { queue: string; receivedAt: Date },
): Promise<HandOffResult> {
  if (envelopes.length === 0) return { jobIds: [], duplicates: 0 };
  const claims = await sequencer.claim(envelopes.map((e) => ({ messageId: e.message_id, groupId: e.message_group_id })));
  const jobs = envelopes.map((e, i) => {
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
    return { name: e.event_type, data, opts: { jobId: brokerJobId(e.message_id) } };
  });
  await queue.addBulk(jobs);
  return { jobIds: jobs.map((j) => j.opts.jobId), duplicates: claims.filter((c) => !c.fresh).length };
}
