import net from "node:net";
import { serve, type ServerType } from "@hono/node-server";
import type { Hono } from "hono";
import { buildStablecoins } from "../chain/stablecoins.js";
import { registerQueueDepthGauge } from "../metrics.js";
import { enqueueRegistrarNotices } from "../processors/dividends/registrar-notices.js";
import { enqueueKycApplication } from "../processors/kyc/applications.js";
import { API_PATH, adminApiRoutes } from "../server/api/index.js";
import { buildApp, type Mount } from "../server/app.js";
import { WEBHOOKS_PATH, webhookRoutes } from "../server/webhooks/index.js";
import type { Clients } from "./clients.js";

/** The web process's feature routes (webhook receivers, admin API), built from its clients. */
function featureRoutes(c: Clients): Mount[] {
  return [
    { path: WEBHOOKS_PATH, app: webhookRoutes(c) },
    {
      path: API_PATH,
      app: adminApiRoutes({
        db: c.dbh.db,
        token: c.config.ADMIN_API_TOKEN,
        log: c.log,
        onDistributionDeclared: (id) => enqueueRegistrarNotices(c.queues, [id]),
        onKycRequested: (id) => enqueueKycApplication(c.queues, id),
        stablecoins: buildStablecoins(c.config),
      }),
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
export async function startWebSide(c: Clients, opts: { boardPassword?: string; metricsText?: () => Promise<string> } = {}): Promise<WebSide> {
  const password = opts.boardPassword ?? c.config.BOARD_PASSWORD;
  if (!password) c.log.warn("BOARD_PASSWORD is not set: the dashboard at /admin/queues is disabled");
  registerQueueDepthGauge(c.metrics.registry, c.queues);
  const app = buildApp({
    redis: c.redis,
    db: c.dbh.db,
    queues: c.queues,
    metrics: c.metrics,
    log: c.log,
    board: password ? { username: c.config.BOARD_USERNAME, password } : undefined,
    mounts: featureRoutes(c),
    metricsText: opts.metricsText,
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
