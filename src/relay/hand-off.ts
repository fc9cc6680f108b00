import type { Queue } from "bullmq";
import type { Envelope } from "./envelope.js";
import { brokerJobId, type BrokerEventJobData } from "./job.js";
import type { Sequencer } from "./sequencer.js";

export interface HandOffResult {
  jobIds: string[];
  duplicates: number;
}

export interface HandOffSource {
  queue: string;
  receivedAt: Date;
}

/** Put a batch of valid envelopes on the broker-events queue; resolves once Redis has every job. */
export type HandOff = (envelopes: Envelope[], source: HandOffSource) => Promise<HandOffResult>;

/**
 * The relay's hand-off, shared by its pollers. Each message is numbered in its group first
 * (idempotent), then the jobs go to Redis in one round trip. Work on copies is skipped where
 * it is known to be done:
 * - A copy whose twin is being handed off right now by this process (the broker publishes to
 *   both queues at once, and both are polled side by side) waits for that hand-off instead of
 *   adding its own job. It waits before numbering anything else of its batch: a group's earlier
 *   message must take its number before a later one does, and if the twin's hand-off fails,
 *   the copy is numbered and added here, in batch order.
 * - A copy claimed before whose job is already in Redis (a redelivery, a twin arriving later)
 *   is not added again: every add costs BullMQ's add script.
 * - A copy claimed before whose job is missing is added: an earlier attempt may have died
 *   between the claim and the add (or the job completed and was removed; the processor
 *   applies an event once).
 */
export function createHandOff(queue: Queue, sequencer: Sequencer): HandOff {
  // Job id → the hand-off in progress that will put that job in Redis.
  const inFlight = new Map<string, Promise<void>>();

  return async (envelopes, source) => {
    if (envelopes.length === 0) return { jobIds: [], duplicates: 0 };
    const jobIds = envelopes.map((e) => brokerJobId(e.message_id));

    // Before any await, so a batch only ever waits for hand-offs that began before it.
    const twins = new Map<number, Promise<void>>();
    jobIds.forEach((id, i) => {
      const running = inFlight.get(id);
      if (running) twins.set(i, running);
    });
    let resolveMine!: () => void;
    let rejectMine!: (err: unknown) => void;
    const mine = new Promise<void>((resolve, reject) => {
      resolveMine = resolve;
      rejectMine = reject;
    });
    mine.catch(() => {}); // Twins read the outcome with allSettled; nothing else awaits it.
    const own = jobIds.filter((_, i) => !twins.has(i));
    for (const id of own) inFlight.set(id, mine);

    try {
      const indexes = [...twins.keys()];
      const settled = await Promise.allSettled([...twins.values()]);
      const doneByTwin = new Set(indexes.filter((_, k) => settled[k]!.status === "fulfilled"));
      const todo = envelopes.flatMap((e, i) => (doneByTwin.has(i) ? [] : [{ e, i }]));

      const claims = await sequencer.claim(todo.map(({ e, i }) => ({ messageId: e.message_id, groupId: e.message_group_id, jobKey: queue.toKey(jobIds[i]!) })));
      const jobs = todo.flatMap(({ e, i }, k) => {
        if (claims[k]!.jobExists) return [];
        const data: BrokerEventJobData = {
          messageId: e.message_id.toLowerCase(),
          messageGroupId: e.message_group_id,
          sequence: claims[k]!.sequence,
          eventType: e.event_type,
          timestamp: e.timestamp,
          payload: e.payload,
          sourceQueue: source.queue,
          receivedAt: source.receivedAt.toISOString(),
        };
        return [{ name: e.event_type, data, opts: { jobId: jobIds[i]! } }];
      });
      if (jobs.length > 0) await queue.addBulk(jobs);
      resolveMine();
      return { jobIds, duplicates: doneByTwin.size + claims.filter((c) => !c.fresh).length };
    } catch (err) {
      rejectMine(err);
      throw err;
    } finally {
      for (const id of own) if (inFlight.get(id) === mine) inFlight.delete(id);
    }
  };
}
