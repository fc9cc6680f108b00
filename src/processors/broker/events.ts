import { UnrecoverableError } from "bullmq";
import type { Kysely } from "kysely";
import { Counter } from "prom-client";
import type { Database } from "../../db/schema.js";
import { metricsOnce, type Metrics } from "../../metrics.js";
import type { Processor } from "../../queues/queue-module.js";
import type { BrokerEventJob } from "../../relay/job.js";
import { ingestEvent, type AppliedEvent } from "./ingest.js";

const brokerEventMetrics = (metrics: Metrics) =>
  metricsOnce(metrics.registry, "broker-events", (r) => ({
    outcomes: new Counter({
      name: "hookrail_broker_events_total",
      help: "Broker events by outcome when their turn came (applied, unknown_type, no_entity_id, duplicate_version, stale)",
      labelNames: ["outcome", "event_type"],
      registers: [r],
    }),
    duplicates: new Counter({
      name: "hookrail_broker_events_duplicates_total",
      help: "Broker event jobs whose message_id was already stored",
      registers: [r],
    }),
  }));

/**
 * Stores the event (once per message_id) and applies its group up to the first gap, in one
 * statement. The job succeeds once the event is stored: an event that arrived ahead of its
 * predecessor waits in Postgres, not in a retrying job, and is applied by whichever job
 * fills the gap.
 */
export function brokerEventsProcessor(deps: { db: Kysely<Database>; metrics: Metrics }): Processor<BrokerEventJob> {
  const m = brokerEventMetrics(deps.metrics);
  return async (data, _job, log) => {
    let stored: boolean;
    let applied: AppliedEvent[];
    try {
      // Always drains, even for a duplicate: an earlier attempt may have been cut off.
      ({ stored, applied } = await ingestEvent(deps.db, data));
    } catch (err) {
      if ((err as { constraint?: string }).constraint === "broker_events_group_sequence_key") {
        // Another message already holds this place in the group: the relay's counter went
        // backwards (Redis lost its data). Applying it could reorder the group.
        throw new UnrecoverableError(`sequence ${data.sequence} of group ${data.messageGroupId} is taken by another message`);
      }
      throw err;
    }
    if (!stored) {
      m.duplicates.inc();
      log.debug({ messageId: data.messageId }, "broker event already stored");
    }
    for (const a of applied) {
      m.outcomes.inc({ outcome: a.outcome, event_type: a.outcome === "unknown_type" ? a.eventType : "" });
      if (a.outcome === "applied") deps.metrics.webhookToEffect.observe({ queue: "broker-events" }, (Date.now() - a.receivedAt.getTime()) / 1000);
      if (a.outcome !== "applied")
        log.info({ messageId: a.messageId, eventType: a.eventType, outcome: a.outcome }, "broker event stored, not applied to an entity");
    }
    return { stored, applied: applied.length };
  };
}
