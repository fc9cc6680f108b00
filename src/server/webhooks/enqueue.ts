import type { Queue } from "bullmq";
import { nodeForKey, type RedisClient } from "../../redis/connection.js";
import { awaitReplicas, NotReplicatedError, type ReplicaAcks } from "../../redis/replica-acks.js";
import { withTimeout } from "../../with-timeout.js";

export class QueueUnavailableError extends Error {
  override name = "QueueUnavailableError";
}

export interface Enqueued {
  jobId: string;
  duplicate: boolean;
}

/** How a receiver stores an accepted event: `addOnce` unless a caller hands in another (the receiver bench sizes alternatives). */
export type Enqueue = (queue: Queue, name: string, data: unknown, jobId: string, timeoutMs: number, acks?: ReplicaAcks) => Promise<Enqueued>;

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
 *
 * On a Redis Cluster the job's keys live on one master (its queue's hash tag), and WAIT goes
 * to that master's connection, the one the EXISTS and the add travelled on. That master is
 * looked up before the writes; if the cluster maps the slot elsewhere by the time WAIT is due
 * (a failover in between), the answer is NotReplicatedError: a WAIT on the new master's
 * connection would not cover writes sent to the old one.
 */
export const addOnce: Enqueue = async function addOnce(
  queue: Queue,
  name: string,
  data: unknown,
  jobId: string,
  timeoutMs: number,
  acks?: ReplicaAcks,
): Promise<Enqueued> {
  // One bound for the connection and both commands: one timer per request.
  const { client, key, node, exists } = await redisWithin(existsThenAdd(queue, name, data, jobId, acks), timeoutMs);
  if (acks && node) {
    if (nodeOrUnavailable(client, key) !== node) throw new NotReplicatedError(acks.replicas, 0, acks.timeoutMs);
    await redisWithin(awaitReplicas(node, acks), timeoutMs);
  }
  return { jobId, duplicate: exists === 1 };
};

async function existsThenAdd(queue: Queue, name: string, data: unknown, jobId: string, acks: ReplicaAcks | undefined) {
  // The queue's own connection (its Redis backend's client), so EXISTS and the add share one
  // socket and keep their order.
  const client = (await queue.getBackend().client) as unknown as RedisClient;
  const key = queue.toKey(jobId);
  const node = acks && acks.replicas > 0 ? nodeOrUnavailable(client, key) : undefined;
  const existed = client.exists(key);
  const added = queue.add(name, data, { jobId });
  // The add's rejection is awaited below; this only keeps an early EXISTS failure from leaving it unhandled.
  added.catch(() => {});
  const [exists] = await Promise.all([existed, added]);
  return { client, key, node, exists };
}

function nodeOrUnavailable(client: RedisClient, key: string) {
  try {
    return nodeForKey(client, key);
  } catch (err) {
    throw new QueueUnavailableError((err as Error).message);
  }
}

/** Redis that is down or does not answer within `ms`: the receiver answers 503. */
async function redisWithin<T>(p: Promise<T>, ms: number): Promise<T> {
  try {
    return await withTimeout(p, ms, () => new QueueUnavailableError(`Redis did not answer within ${ms} ms`));
  } catch (err) {
    throw err instanceof QueueUnavailableError || err instanceof NotReplicatedError ? err : new QueueUnavailableError((err as Error).message);
  }
}
