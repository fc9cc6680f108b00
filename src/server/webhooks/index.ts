import { Hono } from "hono";
import type { Config } from "../../config/index.js";
import type { Logger } from "../../log.js";
import type { Metrics } from "../../metrics.js";
import { AddressMatcher } from "../../net/address-range.js";
import { readBakkt } from "../../providers/bakkt-schema.js";
import type { ReadResult } from "../../providers/fields.js";
import { readFireblocks } from "../../providers/fireblocks-schema.js";
import { readPayment } from "../../providers/payments-schema.js";
import { readSumsub } from "../../providers/sumsub-schema.js";
import type { QueueName } from "../../queues/names.js";
import type { QueueSet } from "../../queues/registry.js";
import type { WebhookVerifier } from "../../verify/errors.js";
import { FireblocksVerifier } from "../../verify/fireblocks.js";
import { FireblocksV1Verifier } from "../../verify/fireblocks-v1.js";
import { FireblocksV2Verifier } from "../../verify/fireblocks-v2.js";
import { StandardWebhooksVerifier } from "../../verify/standard-webhooks.js";
import { SumsubDigestVerifier } from "../../verify/sumsub-digest.js";
import { webhookMetrics } from "./metrics.js";
import { createReceiver } from "./receiver.js";

export const WEBHOOKS_PATH = "/webhooks";
/** The providers retry on any non-2xx and time out after ~5 s: give up on Redis well before. */
export const ENQUEUE_TIMEOUT_MS = 2_000;

interface ProviderRoute {
  provider: string;
  path: string;
  queue: QueueName;
  verifier: WebhookVerifier;
  read: (json: unknown) => ReadResult;
  allowlist: string[];
  allowlistVar: string;
  configured: boolean;
  secretVar: string;
}

export interface WebhookDeps {
  config: Config;
  queues: QueueSet;
  metrics: Metrics;
  log: Logger;
}

/** The four provider routes, mounted under /webhooks. Verifiers and matchers are built once here. */
export function webhookRoutes(deps: WebhookDeps): Hono {
  const { config, log } = deps;
  const fireblocksV1 = new FireblocksV1Verifier(config.FIREBLOCKS_PUBLIC_KEYS);
  const fireblocksV2 = config.FIREBLOCKS_JWKS_URL
    ? new FireblocksV2Verifier({ jwksUrl: new URL(config.FIREBLOCKS_JWKS_URL), cooldownMs: config.FIREBLOCKS_JWKS_COOLDOWN_MS })
    : undefined;
  const routes: ProviderRoute[] = [
    {
      provider: "payments",
      path: "/payments",
      queue: "payments",
      verifier: new StandardWebhooksVerifier(config.PAYMENTS_WEBHOOK_SECRETS),
      read: readPayment,
      allowlist: config.PAYMENTS_IP_ALLOWLIST,
      allowlistVar: "PAYMENTS_IP_ALLOWLIST",
      configured: config.PAYMENTS_WEBHOOK_SECRETS.length > 0,
      secretVar: "PAYMENTS_WEBHOOK_SECRETS",
    },
    {
      provider: "bakkt",
      path: "/bakkt",
      queue: "bakkt-webhooks",
      verifier: new StandardWebhooksVerifier(config.BAKKT_WEBHOOK_SECRETS),
      read: readBakkt,
      allowlist: config.BAKKT_IP_ALLOWLIST,
      allowlistVar: "BAKKT_IP_ALLOWLIST",
      configured: config.BAKKT_WEBHOOK_SECRETS.length > 0,
      secretVar: "BAKKT_WEBHOOK_SECRETS",
    },
    {
      provider: "sumsub",
      path: "/kyc/sumsub",
      queue: "kyc-sumsub",
      verifier: new SumsubDigestVerifier(config.SUMSUB_WEBHOOK_SECRETS),
      read: readSumsub,
      allowlist: config.SUMSUB_IP_ALLOWLIST,
      allowlistVar: "SUMSUB_IP_ALLOWLIST",
      configured: config.SUMSUB_WEBHOOK_SECRETS.length > 0,
      secretVar: "SUMSUB_WEBHOOK_SECRETS",
    },
    {
      provider: "fireblocks",
      path: "/custody/fireblocks",
      queue: "custody-fireblocks",
      verifier: new FireblocksVerifier(fireblocksV1, fireblocksV2),
      read: readFireblocks,
      allowlist: config.FIREBLOCKS_IP_ALLOWLIST,
      allowlistVar: "FIREBLOCKS_IP_ALLOWLIST",
      configured: fireblocksV1.configured || fireblocksV2 !== undefined,
      secretVar: "FIREBLOCKS_PUBLIC_KEYS or FIREBLOCKS_JWKS_URL",
    },
  ];

  const metrics = webhookMetrics(deps.metrics.registry);
  const trustedProxies = AddressMatcher.fromList(config.TRUSTED_PROXIES);
  const app = new Hono();
  for (const r of routes) {
    const path = `${WEBHOOKS_PATH}${r.path}`;
    if (r.allowlist.length === 0) log.warn({ provider: r.provider, path }, `${r.allowlistVar} is not set: ${path} accepts requests from any address`);
    if (!r.configured) log.warn({ provider: r.provider, path }, `${r.secretVar} is not set: ${path} rejects every request with 401`);
    app.post(
      r.path,
      createReceiver({
        provider: r.provider,
        queue: deps.queues.queue(r.queue),
        verifier: r.verifier,
        read: r.read,
        allowlist: AddressMatcher.fromList(r.allowlist),
        trustedProxies,
        maxBytes: config.WEBHOOK_MAX_BYTES,
        enqueueTimeoutMs: ENQUEUE_TIMEOUT_MS,
        metrics,
        log,
      }),
    );
  }
  return app;
}
