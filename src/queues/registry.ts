import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { QUEUES, jobOptions } from "./definitions.js";
import { QUEUE_NAMES, deadLetterName, type QueueName } from "./names.js";

/** The producer side of every queue and its dead-letter queue, sharing one connection. */
export interface QueueSet {
  queue(name: QueueName): Queue;
  deadLetters(name: QueueName): Queue;
  all(): Queue[];
  close(): Promise<void>;
}

export function createQueueSet(connection: Redis, prefix: string): QueueSet {
  const queues = new Map<QueueName, Queue>();
  const dlqs = new Map<QueueName, Queue>();
  for (const name of QUEUE_NAMES) {
    queues.set(name, new Queue(name, { connection, prefix, defaultJobOptions: jobOptions(QUEUES[name]) }));
    // Dead letters are never processed by a worker; they wait for an operator.
    dlqs.set(name, new Queue(deadLetterName(name), { connection, prefix, defaultJobOptions: { removeOnComplete: true } }));
  }
  return {
    queue: (name) => queues.get(name)!,
    deadLetters: (name) => dlqs.get(name)!,
    all: () => [...queues.values(), ...dlqs.values()],
    close: async () => {
      await Promise.all([...queues.values(), ...dlqs.values()].map((q) => q.close()));
    },
  };
}
