import { Queue } from "bullmq";
import { isCluster, nodeForKey, type RedisClient } from "../redis/connection.js";
import type { Redis } from "ioredis";
import { queuePrefix } from "./keyspace.js";
import { deadLetterName, jobOptions, type QueueSettings } from "./queue-module.js";

export class UnknownQueueError extends Error {
  override name = "UnknownQueueError";
}

/** The producer side of every queue and its dead-letter queue, sharing one connection. */
export interface QueueSet {
  readonly names: readonly string[];
  /** QUEUE_PREFIX: the base every queue's own prefix is built from. */
  readonly prefix: string;
  /** The connection every producer queue of the set shares. */
  readonly connection: RedisClient;
  /** The BullMQ prefix of a queue (and its dead letters): see queues/keyspace.ts. Works for any name. */
  prefixOf(queue: string): string;
  /**
   * The connection of the Redis node that holds a queue's keys (the set's connection on one
   * Redis): where WAIT must go to cover what the set wrote to that queue.
   */
  nodeOf(queue: string): Redis;
  /** The queue of that name; throws UnknownQueueError for a name not in the list. */
  queue(name: string): Queue;
  deadLetters(name: string): Queue;
  all(): Queue[];
  close(): Promise<void>;
}

export function createQueueSet(connection: RedisClient, prefix: string, settings: readonly QueueSettings[]): QueueSet {
  const cluster = isCluster(connection);
  const prefixOf = (queue: string) => queuePrefix(prefix, queue, cluster);
  const queues = new Map<string, Queue>();
  const dlqs = new Map<string, Queue>();
  // BullMQ 6 re-emits the shared connection's errors on every queue, and prints any that no
  // listener takes (a stack trace per queue per reconnect attempt). The connection's owner
  // logs them once on the connection itself (see processes/clients.ts), and a failed command
  // still rejects to its caller, so the queues' copies are dropped here.
  const quiet = (q: Queue) => q.on("error", () => {});
  for (const def of settings) {
    if (queues.has(def.name)) throw new Error(`queue ${def.name} is listed twice`);
    queues.set(def.name, quiet(new Queue(def.name, { connection, prefix: prefixOf(def.name), defaultJobOptions: jobOptions(def) })));
    // Dead letters are never processed by a worker; they wait for an operator.
    dlqs.set(def.name, quiet(new Queue(deadLetterName(def.name), { connection, prefix: prefixOf(def.name), defaultJobOptions: { removeOnComplete: true } })));
  }
  const names = [...queues.keys()];
  const get = (map: Map<string, Queue>, name: string) => {
    const q = map.get(name);
    if (!q) throw new UnknownQueueError(`unknown queue "${name}"; the queues are: ${names.join(", ")}`);
    return q;
  };
  return {
    names,
    prefix,
    connection,
    prefixOf,
    nodeOf: (queue) => nodeForKey(connection, `${prefixOf(queue)}:${queue}`),
    queue: (name) => get(queues, name),
    deadLetters: (name) => get(dlqs, name),
    all: () => [...queues.values(), ...dlqs.values()],
    close: async () => {
      await Promise.all([...queues.values(), ...dlqs.values()].map((q) => q.close()));
    },
  };
}
