import type { Job } from "bullmq";
import type { Kysely } from "kysely";
import type { Logger } from "../log.js";
import type { QueueSet } from "../queues/registry.js";
import { monthPeriod } from "../schedulers/period.js";
import type { Processor } from "./types.js";

/** BullMQ job ids must not contain ":"; investor ids are ours, but be safe. */
export const screeningJobId = (period: string, investorId: string) => `aml-${period}-${encodeURIComponent(investorId).replace(/%/g, "_")}`;

/** The period a run belongs to: named by a manual trigger, else the run's scheduled time. */
export function runPeriod(job: Job<{ period?: string }>): string {
  return job.data.period ?? monthPeriod(job.opts.prevMillis ?? job.timestamp);
}

/**
 * A monthly rescreen run: one screening job per KYC-approved investor not yet screened in
 * the period. Job ids are per investor and period, so a second run (or a retried one) adds
 * nothing that is queued already, and screened investors are not selected again.
 */
export function amlRescreenProcessor(deps: { db: Kysely<any>; queues: QueueSet }): Processor<{ period?: string }> {
  return async (job, log: Logger) => {
    const period = runPeriod(job);
    const due = await deps.db
      .selectFrom("investors as i")
      .select("i.id")
      .where("i.kyc_status", "=", "approved")
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom("aml_screenings as s").select("s.id").whereRef("s.investor_id", "=", "i.id").where("s.period", "=", period))),
      )
      .orderBy("i.id")
      .execute();
    const queue = deps.queues.queue("aml-screening");
    for (let i = 0; i < due.length; i += 500) {
      await queue.addBulk(
        due.slice(i, i + 500).map((row: { id: string }) => ({
          name: "screen",
          data: { period, investorId: row.id },
          opts: { jobId: screeningJobId(period, row.id) },
        })),
      );
    }
    log.info({ period, investors: due.length }, "AML rescreen fanned out");
    return { period, screenings: due.length };
  };
}
