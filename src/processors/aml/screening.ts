import { UnrecoverableError } from "bullmq";
import { sql, type Kysely } from "kysely";
import { Counter } from "prom-client";
import { z } from "zod";
import type { Breaker } from "../../clients/breaker.js";
import type { ScreeningResult, ScreeningSubject } from "../../clients/complyadvantage.js";
import { ProviderError } from "../../clients/http-error.js";
import type { Database } from "../../db/schema.js";
import { metricsOnce, type Metrics } from "../../metrics.js";
import { DAY_SECONDS, defineQueue, type Processor } from "../../queues/queue-module.js";
import { circuitCall } from "../../queues/provider-call.js";
import type { QueueSet } from "../../queues/queue-set.js";
import type { WorkerDeps } from "../deps.js";

export const screeningJobSchema = z.object({ period: z.string().regex(/^\d{4}-\d{2}(-\d{2})?$/), investorId: z.string().min(1) });
export type ScreeningJob = z.output<typeof screeningJobSchema>;

const screeningMetrics = (metrics: Metrics) =>
  metricsOnce(metrics.registry, "aml-screening", (r) => ({
    screenings: new Counter({
      name: "hookrail_aml_screenings_total",
      help: "AML screenings by outcome (clean, hit, delayed)",
      labelNames: ["outcome"],
      registers: [r],
    }),
    providerErrors: new Counter({
      name: "hookrail_provider_errors_total",
      help: "Provider call errors by provider and type",
      labelNames: ["provider", "type"],
      registers: [r],
    }),
  }));

/** BullMQ job ids must not contain ":"; investor ids are ours, but be safe. */
export const screeningJobId = (period: string, investorId: string) => `aml-${period}-${encodeURIComponent(investorId).replace(/%/g, "_")}`;

/** Queue one screening per investor for the period; job ids make a second call add nothing queued already. */
export async function enqueueScreenings(queues: QueueSet, period: string, investorIds: string[]): Promise<void> {
  const queue = queues.queue(amlScreeningQueue.name);
  for (let i = 0; i < investorIds.length; i += 500) {
    await queue.addBulk(
      investorIds.slice(i, i + 500).map((investorId) => ({
        name: "screen",
        data: { period, investorId } satisfies ScreeningJob,
        opts: { jobId: screeningJobId(period, investorId) },
      })),
    );
  }
}

/**
 * Screen one investor for one period. The provider sits behind a circuit breaker: while it
 * is open the job is postponed until the breaker half-opens, spending no attempt, so an
 * outage delays screenings instead of failing or dead-lettering them. The screening, any
 * alert and the investor's risk are written in one transaction under the
 * (investor, period) unique key: a rerun after a crash records nothing twice.
 */
export function amlScreeningProcessor(deps: {
  db: Kysely<Database>;
  breaker: Breaker<[ScreeningSubject], ScreeningResult>;
  metrics: Metrics;
}): Processor<ScreeningJob> {
  const metrics = screeningMetrics(deps.metrics);
  return async ({ period, investorId }, job, log, token) => {
    // One read: the investor, and whether this period's screening is already recorded.
    const investor = await deps.db
      .selectFrom("investors as i")
      .select(["i.first_name", "i.last_name", "i.date_of_birth"])
      .select(({ exists, selectFrom }) =>
        exists(selectFrom("aml_screenings as s").select("s.id").whereRef("s.investor_id", "=", "i.id").where("s.period", "=", period)).as("screened"),
      )
      .where("i.id", "=", investorId)
      .executeTakeFirst();
    if (!investor) throw new UnrecoverableError(`investor ${investorId} does not exist`);
    if (investor.screened) return { period, investorId, already: true };
    const birthYear = Number(String(investor.date_of_birth).slice(0, 4));

    const result: ScreeningResult = await circuitCall(
      () => deps.breaker.fire({ investorId, fullName: `${investor.first_name} ${investor.last_name}`, birthYear }),
      deps.breaker,
      job,
      token,
      {
        onPostpone: (waitMs) => {
          metrics.screenings.inc({ outcome: "delayed" });
          log.info({ investorId, period, waitMs }, "screening provider circuit is open; screening postponed");
        },
        onError: (err) => {
          const type =
            err instanceof ProviderError ? err.kind : (err as Error).name === "TimeoutError" || /timed out/i.test((err as Error).message) ? "timeout" : "other";
          metrics.providerErrors.inc({ provider: "complyadvantage", type });
        },
      },
    );

    const outcome = result.matches.length > 0 ? "hit" : "clean";
    // One statement, so one round trip and one commit: the screening, the alert on a hit, and
    // the investor's risk. If another attempt recorded this period first, nothing is written.
    // A clean screening lowers risk only when no alert is still open.
    await sql`
      with screening as (
        insert into aml_screenings (investor_id, period, outcome, search_id, total_hits, match_count)
        values (${investorId}, ${period}, ${outcome}, ${result.searchId}, ${result.totalHits}, ${result.matches.length})
        on conflict (investor_id, period) do nothing
        returning id
      ), alert as (
        insert into aml_alerts (investor_id, screening_id, alert_type, match_data, status)
        select ${investorId}, id, 'potential_match', ${JSON.stringify(result.matches)}::jsonb, 'pending_review'
        from screening where ${outcome} = 'hit'
      )
      update investors set aml_risk = ${outcome === "hit" ? "high" : "low"}
      where id = ${investorId} and exists (select 1 from screening)
        and (${outcome} = 'hit' or not exists (select 1 from aml_alerts where investor_id = ${investorId} and status = 'pending_review'))
    `.execute(deps.db);
    metrics.screenings.inc({ outcome });
    log.info({ investorId, period, outcome, matches: result.matches.length }, "AML screening recorded");
    return { period, investorId, outcome };
  };
}

/** `aml-screening`: one investor's screening for one period, rate-limited across every worker. Needs ComplyAdvantage. */
export const amlScreeningQueue = defineQueue({
  name: "aml-screening",
  schema: screeningJobSchema,
  attempts: 8,
  backoffMs: 5_000,
  keepCompletedSeconds: 60 * DAY_SECONDS,
  keepFailedSeconds: 60 * DAY_SECONDS,
  processor: ({ db, screening, metrics }: WorkerDeps) => (screening ? amlScreeningProcessor({ db, breaker: screening.breaker, metrics }) : undefined),
  limiter: (config: WorkerDeps["config"]) => ({ max: config.AML_RATE_LIMIT_PER_SECOND, duration: 1_000 }),
});
