import { Hono, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import type { Kysely } from "kysely";
import type { Database } from "../db/schema.js";
import type { RedisClient } from "../redis/connection.js";
import type { Logger } from "../log.js";
import type { Metrics } from "../metrics.js";
import type { QueueSet } from "../queues/queue-set.js";
import { healthRoutes } from "./health.js";
import { metricsAuth } from "./metrics-auth.js";
import { opsSecurityHeaders } from "./security-headers.js";
import { OPS_PATH, type OpsDeps, opsRoutes } from "./ops.js";

/** A feature's routes and where they are mounted. */
export interface Mount {
  path: string;
  app: Hono;
  /** The feature limits its own request bodies (the webhook receivers, WEBHOOK_MAX_BYTES). */
  limitsOwnBodies?: boolean;
}

export interface AppDeps {
  redis: RedisClient;
  db: Kysely<Database>;
  queues: QueueSet;
  metrics: Metrics;
  log: Logger;
  /** The ops surface (board, dead-letter page, sign-in); unset = off. */
  ops?: OpsDeps;
  mounts?: Mount[];
  /** What /metrics serves; defaults to this process's registry (a cluster worker serves the aggregate). */
  metricsText?: () => Promise<string>;
  /** Largest request body of every route but those whose feature limits its own (MAX_BODY_BYTES). */
  maxBodyBytes?: number;
  /** Bearer token /metrics requires; unset = no /metrics on this port (404). */
  metricsToken?: string;
}

/**
 * 413 before reading past `max` bytes: at once for a larger Content-Length, else as soon as a
 * chunked body passes it (the rest is not read, and the connection is closed rather than
 * drained). Routes of a feature that limits its own bodies are left to it.
 */
function limitBodies(max: number, mounts: readonly Mount[]): MiddlewareHandler {
  const own = mounts.filter((m) => m.limitsOwnBodies).map((m) => m.path);
  const limit = bodyLimit({
    maxSize: max,
    onError: (c) => c.json({ error: `body larger than ${max} bytes` }, 413, { connection: "close" }),
  });
  return (c, next) => (own.some((p) => c.req.path === p || c.req.path.startsWith(`${p}/`)) ? next() : limit(c, next));
}

/** The web process's routes. Feature routes (webhooks, admin API) are mounted by the caller. */
export function buildApp(deps: AppDeps): Hono {
  const app = new Hono();
  app.use("*", opsSecurityHeaders());
  if (deps.maxBodyBytes !== undefined) app.use("*", limitBodies(deps.maxBodyBytes, deps.mounts ?? []));
  app.route("/", healthRoutes(deps));
  if (deps.metricsToken) {
    app.get("/metrics", metricsAuth(deps.metricsToken), async (c) => {
      const body = await (deps.metricsText ? deps.metricsText() : deps.metrics.registry.metrics());
      return c.text(body, 200, { "content-type": deps.metrics.registry.contentType });
    });
  }
  if (deps.ops) app.route(OPS_PATH, opsRoutes(deps.ops));
  for (const m of deps.mounts ?? []) app.route(m.path, m.app);
  app.onError((err, c) => {
    // Middleware (basic auth, body limit) signals its answer by throwing; keep that answer.
    if (err instanceof HTTPException) return err.getResponse();
    deps.log.error({ err: err.message, path: c.req.path }, "unhandled error");
    return c.json({ error: "internal error" }, 500);
  });
  return app;
}
