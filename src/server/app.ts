import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { Kysely } from "kysely";
import type { Database } from "../db/schema.js";
import type { RedisClient } from "../redis/connection.js";
import type { Logger } from "../log.js";
import type { Metrics } from "../metrics.js";
import type { QueueSet } from "../queues/queue-set.js";
import { BOARD_PATH, boardRoutes } from "./board.js";
import { healthRoutes } from "./health.js";

/** A feature's routes and where they are mounted. */
export interface Mount {
  path: string;
  app: Hono;
}

export interface AppDeps {
  redis: RedisClient;
  db: Kysely<Database>;
  queues: QueueSet;
  metrics: Metrics;
  log: Logger;
  board?: { username: string; password: string };
  mounts?: Mount[];
  /** What /metrics serves; defaults to this process's registry (a cluster worker serves the aggregate). */
  metricsText?: () => Promise<string>;
}

/** The web process's routes. Feature routes (webhooks, admin API) are mounted by the caller. */
export function buildApp(deps: AppDeps): Hono {
  const app = new Hono();
  app.route("/", healthRoutes(deps));
  app.get("/metrics", async (c) => {
    const body = await (deps.metricsText ? deps.metricsText() : deps.metrics.registry.metrics());
    return c.text(body, 200, { "content-type": deps.metrics.registry.contentType });
  });
  if (deps.board) app.route(BOARD_PATH, boardRoutes(deps.queues, deps.board));
  for (const m of deps.mounts ?? []) app.route(m.path, m.app);
  app.onError((err, c) => {
    // Middleware (basic auth, body limit) signals its answer by throwing; keep that answer.
    if (err instanceof HTTPException) return err.getResponse();
    deps.log.error({ err: err.message, path: c.req.path }, "unhandled error");
    return c.json({ error: "internal error" }, 500);
  });
  return app;
}
