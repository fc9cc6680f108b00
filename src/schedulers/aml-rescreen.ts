import type { Job } from "bullmq";
import { z } from "zod";
import type { WorkerDeps } from "../processors/deps.js";
import { enqueueScreenings } from "../processors/aml/screening.js";
import { DAY_SECONDS, defineQueue } from "../queues/queue-module.js";
import { monthPeriod } from "./period.js";

/** Scheduled runs derive their period from the scheduled time; a manual trigger may name one. */
export const rescreenJobSchema = z.object({
  period: z
    .string()
    .regex(/^\d{4}-\d{2}(-\d{2})?$/, { error: "expected YYYY-MM or YYYY-MM-DD" })
    .optional(),
});

export const AML_RESCREEN_SCHEDULER = "aml-rescreen-monthly";

/** The period a run belongs to: named by a manual trigger, else the run's scheduled time. */
export function runPeriod(period: string | undefined, job: Job): string {
  return period ?? monthPeriod(job.opts.prevMillis ?? job.timestamp);
}

/**
 * `aml-rescreen` (AML_RESCREEN_CRON, monthly): one `aml-screening` job per KYC-approved
 * investor not yet screened in the period. Job ids are per investor and period, so a second
 * run (or a retried one) adds nothing that is queued already, and screened investors are not
 * selected again.
 */
export const amlRescreenQueue = defineQueue({
  name: "aml-rescreen",
  schema: rescreenJobSchema,
  attempts: 5,
  backoffMs: 5_000,
  keepCompletedSeconds: 60 * DAY_SECONDS,
  keepFailedSeconds: 60 * DAY_SECONDS,
  scheduler: { id: AML_RESCREEN_SCHEDULER, jobName: "rescreen", pattern: (config: WorkerDeps["config"]) => config.AML_RESCREEN_CRON },
  processor:
    ({ db, queues }: WorkerDeps) =>
    async (data, job, log) => {
      const period = runPeriod(data.period, job);
      const due = await db
        .selectFrom("investors as i")
        .select("i.id")
        .where("i.kyc_status", "=", "approved")
        .where(({ not, exists, selectFrom }) =>
          not(exists(selectFrom("aml_screenings as s").select("s.id").whereRef("s.investor_id", "=", "i.id").where("s.period", "=", period))),
        )
        .orderBy("i.id")
        .execute();
      await enqueueScreenings(
        queues,
        period,
        due.map((row) => row.id),
      );
      log.info({ period, investors: due.length }, "AML rescreen fanned out");
      return { period, screenings: due.length };
    },
});
