import net from "node:net";
import { serve, type ServerType } from "@hono/node-server";
import { Hono } from "hono";
import { buildStablecoins } from "../chain/stablecoins.js";
import { registerQueueDepthGauge } from "../metrics.js";
import { enqueueCustodyTransfer } from "../processors/custody/transfers.js";
import { enqueueRegistrarNotices } from "../processors/dividends/registrar-notices.js";
import { enqueueKycApplication } from "../processors/kyc/applications.js";
import { enqueueMint } from "../processors/orders/mint.js";
import { retryFailedPayouts } from "../processors/dividends/payout-retry.js";
import { retryFailedMint } from "../processors/orders/mint-retry.js";
import { API_PATH, adminApiRoutes } from "../server/api/index.js";
import { buildApp, type Mount } from "../server/app.js";
import { WEBHOOKS_PATH, webhookRoutes } from "../server/webhooks/index.js";
import type { Clients } from "./clients.js";
import { adminTokens, type OpsWiring, opsWiring } from "./ops.js";

/** The web process's feature routes (webhook receivers, admin API), built from its clients. */
function featureRoutes(c: Clients, w: OpsWiring): Mount[] {
  return [
    { path: WEBHOOKS_PATH, app: webhookRoutes(c), limitsOwnBodies: true },
    {
      path: API_PATH,
      app: new Hono().route(
        "/",
        adminApiRoutes({
          db: c.dbh.db,
          tokens: adminTokens(c),
          log: c.log,
          audit: w.audit,
          ip: w.ip,
          onDistributionDeclared: (id) => enqueueRegistrarNotices(c.queues, [id]),
          retryPayouts: (id) => retryFailedPayouts(c.dbh.db, c.queues, id),
          onKycRequested: (id) => enqueueKycApplication(c.queues, id),
          sepaCreditorId: c.config.SEPA_CREDITOR_ID,
          onCustodyTransferRequested: (id) => enqueueCustodyTransfer(c.queues, id),
          onOrderAccepted: w.onOrderAccepted,
          retryMint: (ref) => retryFailedMint(c.dbh.db, c.queues, ref),
          stablecoins: buildStablecoins(c.config),
        }),
      ),
    },
  ];
}

export interface WebSide {
  app: Hono;
  server: ServerType;
  port: number;
  stop(): Promise<void>;
}

/** Build the web app on already-built clients and listen. */
export async function startWebSide(c: Clients, opts: { boardPassword?: string; dev?: boolean; metricsText?: () => Promise<string> } = {}): Promise<WebSide> {
  const wiring = opsWiring(c, { ...opts, onOrderAccepted: (ref) => enqueueMint(c.queues, ref) });
  if (!c.config.METRICS_TOKEN) c.log.warn("METRICS_TOKEN is not set: /metrics is not served on the web port");
  registerQueueDepthGauge(c.metrics.registry, c.queues);
  const app = buildApp({
    redis: c.redis,
    db: c.dbh.db,
    queues: c.queues,
    metrics: c.metrics,
    log: c.log,
    ops: wiring.ops,
    mounts: featureRoutes(c, wiring),
    metricsText: opts.metricsText,
    metricsToken: c.config.METRICS_TOKEN,
    maxBodyBytes: c.config.MAX_BODY_BYTES,
  });
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, port: c.config.PORT, hostname: "0.0.0.0" }, () => resolve(s));
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : c.config.PORT;
  c.log.info({ port }, "web listening");
  return {
    app,
    server,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        // Stop accepting; let requests in flight finish (their enqueue is what the provider
        // waits for). Not http's server.close(): it also drops every idle connection at once,
        // and a connection accepted a moment ago whose request is not parsed yet counts as
        // idle, so its sender sees a reset of a request it sent (seen with WEB_CONCURRENCY,
        // where the primary hands connections over a little later). Idle keep-alive
        // connections are dropped after a 1 s grace instead, then every 250 ms until none is left.
        const closeIdle = () => (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
        let sweep: NodeJS.Timeout | undefined;
        const grace = setTimeout(() => {
          closeIdle();
          sweep = setInterval(closeIdle, 250);
        }, 1_000);
        net.Server.prototype.close.call(server as net.Server, () => {
          clearTimeout(grace);
          clearInterval(sweep);
          resolve();
        });
      }),
  };
}
