import { Hono } from "hono";
import type { Config } from "../../config/index.js";
import type { Logger } from "../../log.js";
import type { Metrics } from "../../metrics.js";
import { AddressMatcher } from "../../net/address-range.js";
import type { QueueSet } from "../../queues/queue-set.js";
import { webhookMetrics } from "./metrics.js";
import type { WebhookProvider } from "./provider.js";
import { WEBHOOK_PROVIDERS } from "./providers/index.js";
import type { Enqueue } from "./enqueue.js";
import { createReceiver } from "./receiver.js";

export const WEBHOOKS_PATH = "/webhooks";
/** The providers retry on any non-2xx and time out after ~5 s: give up on Redis well before. */
export const ENQUEUE_TIMEOUT_MS = 2_000;

export interface WebhookDeps {
  config: Config;
  queues: QueueSet;
  metrics: Metrics;
  log: Logger;
  /** Defaults to every provider hookrail has. */
  providers?: readonly WebhookProvider[];
  /** Defaults to `addOnce`. */
  enqueue?: Enqueue;
}

/** One route per provider, mounted under /webhooks. Verifiers and matchers are built once here. */
export function webhookRoutes(deps: WebhookDeps): Hono {
  const { config, log } = deps;
  const metrics = webhookMetrics(deps.metrics.registry);
  const trustedProxies = AddressMatcher.fromList(config.TRUSTED_PROXIES);
  const app = new Hono();
  for (const provider of deps.providers ?? WEBHOOK_PROVIDERS) {
    const path = `${WEBHOOKS_PATH}${provider.path}`;
    const allowlist = provider.allowlist(config);
    const verifier = provider.verifier(config);
    // An unconfigured route refuses everything, whoever sends it: say only that.
    if (!verifier.configured) log.warn({ provider: provider.name, path }, `${verifier.settings} is not set: ${path} rejects every request with 401`);
    else if (allowlist.cidrs.length === 0)
      log.warn({ provider: provider.name, path }, `${allowlist.setting} is not set: ${path} accepts requests from any address`);
    app.post(
      provider.path,
      createReceiver({
        provider,
        queue: deps.queues.queue(provider.queue.name),
        verifier: verifier.verifier,
        allowlist: AddressMatcher.fromList(allowlist.cidrs),
        trustedProxies,
        maxBytes: config.WEBHOOK_MAX_BYTES,
        enqueueTimeoutMs: ENQUEUE_TIMEOUT_MS,
        replicaAcks: { replicas: config.REDIS_MIN_REPLICA_ACKS, timeoutMs: config.REDIS_REPLICA_ACK_TIMEOUT_MS },
        enqueue: deps.enqueue,
        metrics,
        log,
      }),
    );
  }
  return app;
}
