import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { metricsOnce } from "../metrics.js";

export interface RelayMetrics {
  received: Counter<"queue">;
  deleted: Counter<"queue">;
  duplicates: Counter<"queue">;
  deadLettered: Counter<"queue">;
  visibilityExtended: Counter<"queue">;
  errors: Counter<"queue" | "stage">;
  handOff: Histogram<"queue">;
  oldestAge: Gauge<"queue">;
}

/** Shared by every relay on the registry (dev mode and tests may build several). */
export const relayMetrics = (registry: Registry): RelayMetrics => metricsOnce(registry, "relay", buildRelayMetrics);

function buildRelayMetrics(registry: Registry): RelayMetrics {
  const registers = [registry];
  return {
    received: new Counter({
      name: "hookrail_relay_messages_received_total",
      help: "SQS messages received, per queue (primary, dr)",
      labelNames: ["queue"],
      registers,
    }),
    deleted: new Counter({
      name: "hookrail_relay_messages_deleted_total",
      help: "SQS messages deleted after their job was in Redis (or dead-lettered)",
      labelNames: ["queue"],
      registers,
    }),
    duplicates: new Counter({
      name: "hookrail_relay_duplicates_dropped_total",
      help: "Messages whose message_id was already handed off (DR twin or redelivery)",
      labelNames: ["queue"],
      registers,
    }),
    deadLettered: new Counter({
      name: "hookrail_relay_malformed_total",
      help: "Malformed messages recorded in broker-events-dlq and deleted",
      labelNames: ["queue"],
      registers,
    }),
    visibilityExtended: new Counter({
      name: "hookrail_relay_visibility_extensions_total",
      help: "ChangeMessageVisibility calls made because a hand-off was slow",
      labelNames: ["queue"],
      registers,
    }),
    errors: new Counter({
      name: "hookrail_relay_errors_total",
      help: "Relay errors by queue and stage (receive, hand_off, delete, extend)",
      labelNames: ["queue", "stage"],
      registers,
    }),
    handOff: new Histogram({
      name: "hookrail_relay_hand_off_seconds",
      help: "From receiving a batch to its jobs being in Redis",
      labelNames: ["queue"],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    oldestAge: new Gauge({
      name: "hookrail_relay_oldest_message_age_seconds",
      help: "Age (since SQS SentTimestamp) of the oldest message in the latest batch; the broker keeps events five days",
      labelNames: ["queue"],
      registers,
    }),
  };
}
