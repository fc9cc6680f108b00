import { DelayedError, UnrecoverableError } from "bullmq";
import type { Kysely } from "kysely";
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
    const done = await deps.db.selectFrom("aml_screenings").select("id").where("investor_id", "=", investorId).where("period", "=", period).executeTakeFirst();
    if (done) return { period, investorId, already: true };
    const investor = await deps.db.selectFrom("investors").select(["id", "first_name", "last_name", "date_of_birth"]).where("id", "=", investorId).executeTakeFirst();
    if (!investor) throw new UnrecoverableError(`investor ${investorId} does not exist`);
    const birthYear = Number(String(investor.date_of_birth instanceof Date ? investor.date_of_birth.toISOString() : investor.date_of_birth).slice(0, 4));

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
    await deps.db.transaction().execute(async (trx) => {
      const screening = await trx
        .insertInto("aml_screenings")
        .values({ investor_id: investorId, period, outcome, search_id: result.searchId, total_hits: result.totalHits, match_count: result.matches.length })
        .onConflict((oc) => oc.columns(["investor_id", "period"]).doNothing())
        .returning("id")
        .executeTakeFirst();
      if (!screening) return; // another attempt recorded it first
      if (outcome === "hit") {
        await trx
          .insertInto("aml_alerts")
          .values({ investor_id: investorId, screening_id: screening.id, alert_type: "potential_match", match_data: JSON.stringify(result.matches), status: "pending_review" })
          .execute();
        await trx.updateTable("investors").set({ aml_risk: "high" }).where("id", "=", investorId).execute();
      } else {
        // A clean screening lowers risk only if no alert is still open.
        const open = await trx.selectFrom("aml_alerts").select("id").where("investor_id", "=", investorId).where("status", "=", "pending_review").executeTakeFirst();
        if (!open) await trx.updateTable("investors").set({ aml_risk: "low" }).where("id", "=", investorId).execute();
      }
    });
    deps.metrics.screenings.inc({ outcome });
    log.info({ investorId, period, outcome, matches: result.matches.length }, "AML screening recorded");
    return { period, investorId, outcome };
  };
}
