import { Hono } from "hono";
import { sql, type Kysely } from "kysely";
import type { Redis } from "ioredis";

const withTimeout = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([p, new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`${what} timed out`)), ms).unref())]);

/** `/healthz`: the process is alive. `/readyz`: it can reach Redis and Postgres. */
export function healthRoutes(deps: { redis: Redis; db: Kysely<any> }): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", async (c) => {
    const checks = await Promise.allSettled([
      withTimeout(deps.redis.ping(), 2_000, "redis"),
      withTimeout(sql`select 1`.execute(deps.db), 2_000, "postgres"),
    ]);
    const [redis, postgres] = checks.map((r) => (r.status === "fulfilled" ? "ok" : `down: ${(r.reason as Error).message}`));
    const ready = checks.every((r) => r.status === "fulfilled");
    return c.json({ status: ready ? "ready" : "not ready", redis, postgres }, ready ? 200 : 503);
  });
  return app;
}
