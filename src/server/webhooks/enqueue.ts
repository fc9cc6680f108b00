import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { awaitReplicas, NotReplicatedError, type ReplicaAcks } from "../../redis/replica-acks.js";
import { withTimeout } from "../../with-timeout.js";

export class QueueUnavailableError extends Error {
  override name = "QueueUnavailableError";
}

export interface Enqueued {
  jobId: string;
  duplicate: boolean;
}

/**
 * Add a job under its event id and tell whether it was new. BullMQ's add answers the same way
 * for a new id and an existing one (it ignores the second add), so an EXISTS on the job's key
 * is sent just before the add on the same connection: Redis runs them in that order, and both
 * travel in one round trip. Two copies of one event arriving at the same instant may both be
 * told "new"; there is still only one job, which is what matters.
 *
 * Redis that is down fails at once (the producer connection has no offline queue); Redis that
 * does not answer fails after `timeoutMs`. Either way the caller answers 503 and the provider
 * retries; if the add lands after the timeout, the retry is answered as a duplicate.
 *
 * With `acks.replicas` > 0 the answer also waits until that many replicas hold the job (WAIT
 * on the same connection), else NotReplicatedError: the caller answers 503, and since the job
 * may well be on the primary, the provider's retry is answered as a duplicate. A duplicate
 * waits too: its first copy may be the one that never reached a replica.
 */
export async function addOnce(queue: Queue, name: string, data: unknown, jobId: string, timeoutMs: number, acks?: ReplicaAcks): Promise<Enqueued> {
  // The queue's own connection (its Redis backend's client), so EXISTS and the add share one
  // socket and keep their order.
  const client = (await redisWithin(queue.getBackend().client, timeoutMs)) as unknown as Redis;
  const existed = client.exists(queue.toKey(jobId));
  const added = queue.add(name, data, { jobId });
  // The add's rejection is awaited below; this only keeps an early EXISTS failure from leaving it unhandled.
  added.catch(() => {});
  const [exists] = await redisWithin(Promise.all([existed, added]), timeoutMs);
  if (acks && acks.replicas > 0) await redisWithin(awaitReplicas(client, acks), timeoutMs);
  return { jobId, duplicate: exists === 1 };
}

/** Redis that is down or does not answer within `ms`: the receiver answers 503. */
async function redisWithin<T>(p: Promise<T>, ms: number): Promise<T> {
  try {
    return await withTimeout(p, ms, () => new QueueUnavailableError(`Redis did not answer within ${ms} ms`));
  } catch (err) {
    throw err instanceof QueueUnavailableError || err instanceof NotReplicatedError ? err : new QueueUnavailableError((err as Error).message);
  }
}
