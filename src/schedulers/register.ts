import type { Config } from "../config/index.js";
import type { QueueSet } from "../queues/registry.js";

export const AML_RESCREEN_SCHEDULER = "aml-rescreen-monthly";
export const DIVIDENDS_DUE_SCHEDULER = "dividends-due";

/**
 * Upsert the job schedulers. BullMQ keys a scheduler by its id, so any number of worker
 * processes doing this at once leaves exactly one of each; a changed pattern replaces the
 * old one. Runs carry no period in their data: the processor derives it from the run's
 * scheduled time, so a run that is retried or duplicated still lands in its own period.
 */
export async function registerSchedulers(queues: QueueSet, config: Config): Promise<void> {
  await queues.queue("aml-rescreen").upsertJobScheduler(
    AML_RESCREEN_SCHEDULER,
    { pattern: config.AML_RESCREEN_CRON, tz: "UTC" },
    { name: "rescreen", data: {} },
  );
  // Each run looks for distributions whose payment date has come; payout jobs have ids per distribution.
  await queues.queue("dividends").upsertJobScheduler(
    DIVIDENDS_DUE_SCHEDULER,
    { pattern: config.DIVIDEND_DUE_CRON, tz: "UTC" },
    { name: "due", data: {} },
  );
}
