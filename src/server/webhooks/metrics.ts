import { Counter, Histogram, type Registry } from "prom-client";

export interface WebhookMetrics {
  requests: Counter<"provider" | "outcome">;
  latency: Histogram<"provider" | "outcome">;
}

/** Registered once per registry; a second receiver on the same registry shares them. */
export function webhookMetrics(registry: Registry): WebhookMetrics {
  const existing = registry.getSingleMetric("hookrail_webhook_requests_total");
  if (existing) {
    return {
      requests: existing as Counter<"provider" | "outcome">,
      latency: registry.getSingleMetric("hookrail_webhook_receive_seconds") as Histogram<"provider" | "outcome">,
    };
  }
  return {
    requests: new Counter({
      name: "hookrail_webhook_requests_total",
      help: "Webhook requests by provider and outcome (accepted, duplicate, invalid, unauthorized, forbidden, too_large, unsupported_media_type, unavailable, error)",
      labelNames: ["provider", "outcome"],
      registers: [registry],
    }),
    latency: new Histogram({
      name: "hookrail_webhook_receive_seconds",
      help: "Time from a webhook request's arrival to its answer",
      labelNames: ["provider", "outcome"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
  };
}
