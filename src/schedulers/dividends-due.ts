import { z } from "zod";
import type { WorkerDeps } from "../processors/deps.js";
import { enqueuePayouts } from "../processors/dividends/payouts.js";
import { enqueueRegistrarNotices } from "../processors/dividends/registrar-notices.js";
import { DAY_SECONDS, defineQueue } from "../queues/queue-module.js";

export const DIVIDENDS_DUE_SCHEDULER = "dividends-due";

/**
 * `dividends-due` (DIVIDEND_DUE_CRON, every minute): finds distributions whose payment date
 * has come and that are not completed, and adds one `dividend-payouts` job each under a
 * deterministic id; it also re-adds the registrar notice of any declaration whose notice is
 * still pending (the web process enqueues it at once, but Redis may have been down then).
 */
export const dividendsDueQueue = defineQueue({
  name: "dividends-due",
  schema: z.object({}),
  attempts: 3,
  backoffMs: 5_000,
  // A run a minute: keep a day of them for the board, not two months.
  keepCompletedSeconds: DAY_SECONDS,
  keepFailedSeconds: 30 * DAY_SECONDS,
  scheduler: { id: DIVIDENDS_DUE_SCHEDULER, jobName: "due", pattern: (config: WorkerDeps["config"]) => config.DIVIDEND_DUE_CRON },
  processor:
    ({ db, queues }: WorkerDeps) =>
    async (_data, _job, log) => {
      const due = await db
        .selectFrom("distributions")
        .select("id")
        .where("status", "!=", "completed")
        .where("payment_date", "<=", new Date())
        .orderBy("payment_date")
        .execute();
      await enqueuePayouts(
        queues,
        due.map((d) => d.id),
      );
      const unnoticed = await db.selectFrom("distributions").select("id").where("registrar_notice_status", "=", "pending").execute();
      await enqueueRegistrarNotices(
        queues,
        unnoticed.map((d) => d.id),
      );
      if (due.length > 0) log.info({ distributions: due.map((d) => d.id) }, "due distributions queued");
      return { due: due.length, notices: unnoticed.length };
    },
});
