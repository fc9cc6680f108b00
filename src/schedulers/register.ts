import { Queue } from "bullmq";
import type { QueueModule } from "../queues/queue-module.js";
import type { QueueSet } from "../queues/queue-set.js";

/** Schedulers that older versions kept on queues since split: removed so they stop adding jobs nobody serves. */
const RETIRED_SCHEDULERS = [{ queue: "dividends", id: "dividends-due" }] as const;

/**
 * Upsert the job scheduler of every module that has one. BullMQ keys a scheduler by its id,
 * so any number of worker processes doing this at once leaves exactly one of each; a changed
 * pattern replaces the old one. Runs carry no period in their data: the processor derives it
 * from the run's scheduled time, so a run that is retried or duplicated still lands in its
 * own period.
 */
export async function registerSchedulers<C>(
  queues: QueueSet,
  // biome-ignore lint/suspicious/noExplicitAny: only the scheduler settings are read.
  modules: readonly QueueModule<any, { config: C }>[],
  config: C,
): Promise<void> {
  for (const m of modules) {
    if (!m.scheduler) continue;
    await queues.queue(m.name).upsertJobScheduler(m.scheduler.id, { pattern: m.scheduler.pattern(config), tz: "UTC" }, { name: m.scheduler.jobName, data: {} });
  }
  for (const retired of RETIRED_SCHEDULERS) {
    const queue = new Queue(retired.queue, { connection: queues.connection, prefix: queues.prefixOf(retired.queue) });
    try {
      await queue.removeJobScheduler(retired.id);
    } finally {
      await queue.close();
    }
  }
}
