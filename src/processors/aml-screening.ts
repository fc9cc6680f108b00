import { DelayedError, UnrecoverableError } from "bullmq";
import { sql, type Kysely } from "kysely";
import { Counter, Gauge, type Registry } from "prom-client";
import type { Breaker } from "../providers/circuit.js";
import { isBreakerOpen } from "../providers/circuit.js";
import { ProviderError, type ScreeningResult, type ScreeningSubject } from "../providers/complyadvantage.js";
import type { Processor } from "./types.js";

export interface ScreeningMetrics {
  screenings: Counter<"outcome">;
  providerErrors: Counter<"provider" | "type">;
}

export function createScreeningMetrics(registry: Registry, breaker: Breaker<[ScreeningSubject], ScreeningResult>): ScreeningMetrics {
  new Gauge({
    name: "hookrail_circuit_breaker_open",
    help: "1 while a provider's circuit breaker is open (0.5 half-open, 0 closed)",
    labelNames: ["provider"],
    registers: [registry],
    collect() {
      const state = breaker.state();
      this.set({ provider: "complyadvantage" }, state === "open" ? 1 : state === "half_open" ? 0.5 : 0);
    },
  });
  return {
    screenings: new Counter({ name: "hookrail_aml_screenings_total", help: "AML screenings by outcome (clean, hit, delayed)", labelNames: ["outcome"], registers: [registry] }),
    providerErrors: new Counter({ name: "hookrail_provider_errors_total", help: "Provider call errors by provider and type", labelNames: ["provider", "type"], registers: [registry] }),
  };
}

/**
 * Screen one investor for one period. The provider sits behind a circuit breaker: while it
 * is open the job is postponed until the breaker half-opens, spending no attempt, so an
 * outage delays screenings instead of failing or dead-lettering them. The screening, any
 * alert and the investor's risk are written in one transaction under the
 * (investor, period) unique key: a rerun after a crash records nothing twice.
 */
export function amlScreeningProcessor(deps: {
  db: Kysely<any>;
  breaker: Breaker<[ScreeningSubject], ScreeningResult>;
  metrics: ScreeningMetrics;
}): Processor<{ period: string; investorId: string }> {
  return async (job, log, token) => {
    const { period, investorId } = job.data;
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

    let result: ScreeningResult;
    try {
      result = await deps.breaker.fire({ investorId, fullName: `${investor.first_name} ${investor.last_name}`, birthYear });
    } catch (err) {
      if (isBreakerOpen(err)) {
        const waitMs = Math.max(deps.breaker.retryAfterMs(), 250) + Math.floor(Math.random() * 250);
        deps.metrics.screenings.inc({ outcome: "delayed" });
        log.info({ investorId, period, waitMs }, "screening provider circuit is open; screening postponed");
        await job.moveToDelayed(Date.now() + waitMs, token);
        throw new DelayedError();
      }
      const type = err instanceof ProviderError ? err.kind : (err as Error).name === "TimeoutError" || /timed out/i.test((err as Error).message) ? "timeout" : "other";
      deps.metrics.providerErrors.inc({ provider: "complyadvantage", type });
      if (err instanceof ProviderError && !err.retryable) throw new UnrecoverableError(err.message);
      throw err;
    }

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
    deps.metrics.screenings.inc({ outcome });
    log.info({ investorId, period, outcome, matches: result.matches.length }, "AML screening recorded");
    return { period, investorId, outcome };
  };
}
