import { Counter, Histogram, type Registry } from "prom-client";
import { metricsOnce } from "../../metrics.js";

export interface WebhookMetrics {
  requests: Counter<"provider" | "outcome">;
  latency: Histogram<"provider" | "outcome">;
}

/** Shared by every receiver on the registry. */
export const webhookMetrics = (registry: Registry): WebhookMetrics =>
  metricsOnce(registry, "webhooks", (r) => ({
    requests: new Counter({
      name: "hookrail_webhook_requests_total",
      help: "Webhook requests by provider and outcome (accepted, duplicate, invalid, unauthorized, forbidden, too_large, unsupported_media_type, unavailable, error)",
      labelNames: ["provider", "outcome"],
      registers: [r],
    }),
    latency: new Histogram({
      name: "hookrail_webhook_receive_seconds",
      help: "Time from a webhook request's arrival to its answer",
      labelNames: ["provider", "outcome"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [r],
    }),
  }));
