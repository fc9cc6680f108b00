import { UnrecoverableError } from "bullmq";
import { z } from "zod";
import { ProviderError } from "../clients/http-error.js";
import { sepaCreditor } from "../config/sepa.js";
import type { WorkerDeps } from "../processors/deps.js";
import { utcDay } from "../validation/calendar.js";
import { runCollection } from "../processors/sepa/collection.js";
import { Pain008Error } from "../processors/sepa/pain008.js";
import { DAY_SECONDS, defineQueue } from "../queues/queue-module.js";

/** Scheduled runs take their day from the scheduled time; a manual trigger may name one. */
export const sepaCollectionJobSchema = z.object({
  date: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, { error: "expected YYYY-MM-DD" })
    .optional(),
});

export const SEPA_COLLECTION_SCHEDULER = "sepa-collection-daily";

/**
 * `sepa-collection` (SEPA_COLLECTION_CRON, daily 06:00 UTC): creates the debits (and orders)
 * that are due, builds one pain.008 file per collection date and submits each to the bank
 * exactly once. Waits (no processor) until the creditor and the bank API are configured.
 */
export const sepaCollectionQueue = defineQueue({
  name: "sepa-collection",
  schema: sepaCollectionJobSchema,
  attempts: 8,
  backoffMs: 30_000,
  keepCompletedSeconds: 60 * DAY_SECONDS,
  keepFailedSeconds: 60 * DAY_SECONDS,
  scheduler: { id: SEPA_COLLECTION_SCHEDULER, jobName: "collect", pattern: (config: WorkerDeps["config"]) => config.SEPA_COLLECTION_CRON },
  processor: ({ db, config, sepaBank }: WorkerDeps) => {
    const creditor = sepaCreditor(config);
    if (!creditor || !sepaBank) return undefined;
    const lead = { FRST: config.SEPA_LEAD_DAYS_FRST, RCUR: config.SEPA_LEAD_DAYS_RCUR };
    return async (data, job, log) => {
      const runDay = data.date ?? utcDay(job.opts.prevMillis ?? job.timestamp);
      const result = await runCollection({ db, bank: sepaBank, creditor, lead, log }, runDay).catch((err: unknown) => {
        // A refusal (a 4xx other than the duplicate) or a value the file cannot carry will not change on retry.
        const final = (err instanceof ProviderError && !err.retryable) || err instanceof Pain008Error;
        throw final ? new UnrecoverableError((err as Error).message) : err;
      });
      log.info({ runDay, debits: result.debits, files: result.files }, "SEPA collection run");
      return result;
    };
  },
});
