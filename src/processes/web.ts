import { serve, type ServerType } from "@hono/node-server";
import type { Hono } from "hono";
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
export async function startWebSide(c: Clients, opts: { boardPassword?: string } = {}): Promise<WebSide> {
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
        // Stop accepting; let requests in flight finish (their enqueue is what the provider waits for).
        server.close(() => resolve());
        (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
      }),
  };
}
