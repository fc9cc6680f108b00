import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { QueueSet } from "./queues/queue-set.js";

/** One registry per process; every module that records a metric takes it from here. */
export interface Metrics {
  registry: Registry;
  jobDuration: Histogram<"queue" | "outcome">;
  jobsFinished: Counter<"queue" | "outcome">;
  webhookToEffect: Histogram<"queue">;
  jobWait: Histogram<"queue">;
}

/**
 * prom-client's gauges of active handles, requests and resources are also exported as sums
 * named `..._total`, a suffix Prometheus reserves for counters (`promtool check metrics`
 * refuses them). The sums are dropped: `sum(nodejs_active_handles)` etc. give them.
 */
const NON_COUNTERS_NAMED_TOTAL = ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"];

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  for (const name of NON_COUNTERS_NAMED_TOTAL) registry.removeSingleMetric(name);
  return {
    registry,
    jobDuration: new Histogram({
      name: "hookrail_job_duration_seconds",
      help: "Time a processor spent on one attempt of a job",
      labelNames: ["queue", "outcome"],
      buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    jobsFinished: new Counter({
      name: "hookrail_jobs_total",
      help: "Job attempts by queue and outcome (completed, failed = will retry, dead_lettered)",
      labelNames: ["queue", "outcome"],
      registers: [registry],
    }),
    webhookToEffect: new Histogram({
      name: "hookrail_webhook_to_effect_seconds",
      help: "From receipt of an event to its effect being committed",
      labelNames: ["queue"],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
    jobWait: new Histogram({
      name: "hookrail_job_wait_seconds",
      help: "How long a job waited in its queue before a worker started it (delays and backoff excluded)",
      labelNames: ["queue"],
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600],
      registers: [registry],
    }),
  };
}

const registered = new WeakMap<Registry, Map<string, unknown>>();

/**
 * A feature's metrics, built once per registry under `key`: a process that builds the same
 * feature twice on one registry (dev mode, tests) shares them instead of failing on a
 * duplicate name. Every feature registers its metrics through this.
 */
export function metricsOnce<T>(registry: Registry, key: string, build: (registry: Registry) => T): T {
  let byKey = registered.get(registry);
  if (!byKey) {
    byKey = new Map();
    registered.set(registry, byKey);
  }
  if (!byKey.has(key)) byKey.set(key, build(registry));
  return byKey.get(key) as T;
}

/** Queue depths are read from Redis when Prometheus scrapes, not polled. */
export function registerQueueDepthGauge(registry: Registry, queues: QueueSet): void {
  new Gauge({
    name: "hookrail_queue_jobs",
    help: "Jobs in each queue by state (dead letters under queue=<name>-dlq)",
    labelNames: ["queue", "state"],
    registers: [registry],
    // Every web worker reads the same Redis: aggregated over a cluster, one copy, not the sum.
    aggregator: "first",
    async collect() {
      this.reset();
      await Promise.all(
        queues.names
          .flatMap((name) => [queues.queue(name), queues.deadLetters(name)])
          .map(async (q) => {
            const counts = await q.getJobCounts("waiting", "active", "delayed", "failed", "prioritized");
            for (const [state, n] of Object.entries(counts)) this.set({ queue: q.name, state }, n);
          }),
      );
    },
  });
}
