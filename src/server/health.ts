import { Hono } from "hono";
import { sql, type Kysely } from "kysely";
import type { Database } from "../db/schema.js";
import { pingAll, type RedisClient } from "../redis/connection.js";
import { withTimeout } from "../with-timeout.js";

const within2s = <T>(p: Promise<T>, what: string) => withTimeout(p, 2_000, () => new Error(`${what} timed out`));

/** `/healthz`: the process is alive. `/readyz`: it can reach Redis (every master of a cluster) and Postgres. */
export function healthRoutes(deps: { redis: RedisClient; db: Kysely<Database> }): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", async (c) => {
    const checks = await Promise.allSettled([within2s(pingAll(deps.redis), "redis"), within2s(sql`select 1`.execute(deps.db), "postgres")]);
    const [redis, postgres] = checks.map((r) => (r.status === "fulfilled" ? "ok" : `down: ${(r.reason as Error).message}`));
    const ready = checks.every((r) => r.status === "fulfilled");
    return c.json({ status: ready ? "ready" : "not ready", redis, postgres }, ready ? 200 : 503);
  });
  return app;
}
