import { z } from "zod";
import type { WorkerDeps } from "../processors/deps.js";
import { enqueueStatusPolls } from "../processors/kyc/status-poll.js";
import { DAY_SECONDS, defineQueue } from "../queues/queue-module.js";

export const KYC_RECONCILE_SCHEDULER = "kyc-reconcile-hourly";

/**
 * `kyc-reconcile` (KYC_RECONCILE_CRON, hourly): webhooks get lost (the provider's outage, or
 * ours outlasting its retries). Every investor with an applicant whose verification is still
 * pending / in review and has not moved for KYC_RECONCILE_AFTER gets one `kyc-status` poll.
 * "Not moved" is `updated_at`, which the applicant write and every applied outcome set. Poll
 * job ids carry the run's scheduled time, so a retried run queues nothing twice.
 */
export const kycReconcileQueue = defineQueue({
  name: "kyc-reconcile",
  schema: z.object({}),
  attempts: 5,
  backoffMs: 5_000,
  keepCompletedSeconds: 7 * DAY_SECONDS,
  keepFailedSeconds: 30 * DAY_SECONDS,
  scheduler: { id: KYC_RECONCILE_SCHEDULER, jobName: "reconcile", pattern: (config: WorkerDeps["config"]) => config.KYC_RECONCILE_CRON },
  processor:
    ({ db, queues, config }: WorkerDeps) =>
    async (_data, job, log) => {
      const runAt = job.opts.prevMillis ?? job.timestamp;
      const before = new Date(runAt - config.KYC_RECONCILE_AFTER);
      const due = await db
        .selectFrom("investors")
        .select("id")
        .where("kyc_applicant_id", "is not", null)
        .where("kyc_status", "in", ["pending", "in_review"])
        .where("updated_at", "<", before)
        .orderBy("id")
        .execute();
      await enqueueStatusPolls(
        queues,
        runAt,
        due.map((r) => r.id),
      );
      log.info({ investors: due.length, openSince: before.toISOString() }, "KYC reconciliation fanned out");
      return { polls: due.length };
    },
});
