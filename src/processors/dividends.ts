import { DelayedError } from "bullmq";
import type { Kysely } from "kysely";
import { NotYetError, runDistribution, type DistributionRunDeps } from "../dividends/run-distribution.js";
import type { Database } from "../db/schema.js";
import type { QueueSet } from "../queues/registry.js";
import type { Processor } from "./types.js";

export interface DividendJob {
  period?: string;
  distributionId?: string;
}

/** One payout job per distribution, ever: a second `due` run while it waits or runs adds nothing. */
export const distributionJobId = (distributionId: string) => `dividend-${distributionId}`;
export const registrarNoticeJobId = (distributionId: string) => `registrar-notice-${distributionId}`;

/**
 * The `dividends` queue. A scheduler run (`due`, every minute) finds distributions whose
 * payment date has come and that are not completed, and adds one payout job each under a
 * deterministic id; it also re-adds the registrar notice of any declaration whose notice is
 * still pending (the web process enqueues it at once, but Redis may have been down then).
 * A payout job runs its distribution to completion, resuming from what Postgres holds.
 */
export function dividendsProcessor(deps: { db: Kysely<Database>; queues: QueueSet; run: DistributionRunDeps }): Processor<DividendJob> {
  return async (job, log, token) => {
    const { distributionId } = job.data;
    if (!distributionId) {
      const now = new Date();
      const due = await deps.db
        .selectFrom("distributions")
        .select("id")
        .where("status", "!=", "completed")
        .where("payment_date", "<=", now)
        .orderBy("payment_date")
        .execute();
      if (due.length > 0) {
        await deps.queues
          .queue("dividends")
          .addBulk(due.map((d) => ({ name: "pay", data: { distributionId: d.id }, opts: { jobId: distributionJobId(d.id) } })));
      }
      const unnoticed = await deps.db.selectFrom("distributions").select("id").where("registrar_notice_status", "=", "pending").execute();
      if (unnoticed.length > 0) {
        await deps.queues
          .queue("registrar-notices")
          .addBulk(unnoticed.map((d) => ({ name: "notice", data: { distributionId: d.id }, opts: { jobId: registrarNoticeJobId(d.id) } })));
      }
      if (due.length > 0) log.info({ distributions: due.map((d) => d.id) }, "due distributions queued");
      return { due: due.length, notices: unnoticed.length };
    }
    try {
      return await runDistribution({ ...deps.run, log }, distributionId);
    } catch (err) {
      if (!(err instanceof NotYetError)) throw err;
      // Not a failure: wait without spending an attempt.
      log.info({ distributionId, retryAt: new Date(err.retryAt).toISOString() }, err.message);
      await job.moveToDelayed(Math.max(err.retryAt, Date.now() + 1_000), token);
      throw new DelayedError();
    }
  };
}
