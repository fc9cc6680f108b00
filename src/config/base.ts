import { z } from "zod";
import { csvList, emptyToUndefined, intInRange, optionalString, optionalUrl, stringWithDefault, urlString } from "./env.js";

export const baseSchema = z.object({
  PORT: intInRange(0, 65535, 3000),
  REDIS_URL: z.preprocess(emptyToUndefined, urlString(["redis", "rediss"], "redis://127.0.0.1:6379").default("redis://127.0.0.1:6379")),
  /**
   * Seed nodes of a Redis Cluster (`host:port` or `redis://`/`rediss://` URLs, comma-separated);
   * set = cluster mode and REDIS_URL is not used. See redis/connection.ts createCluster.
   */
  REDIS_CLUSTER_NODES: csvList().pipe(
    z.array(
      z.string().refine(
        (v) => {
          try {
            const u = new URL(/^[a-z]+:\/\//i.test(v) ? v : `redis://${v}`);
            return ["redis:", "rediss:"].includes(u.protocol) && u.hostname !== "" && (u.pathname === "" || u.pathname === "/");
          } catch {
            return false;
          }
        },
        { error: "expected host:port or redis(s)://[user:password@]host:port seed nodes, comma-separated" },
      ),
    ),
  ),
  QUEUE_PREFIX: stringWithDefault("hookrail").pipe(z.string().regex(/^[A-Za-z0-9_-]+$/, { error: "expected letters, digits, - or _ only" })),
  DATABASE_URL: optionalUrl(["postgres", "postgresql"], "postgres://user@host:5432/db"),
  DATABASE_SCHEMA: optionalString().pipe(
    z
      .string()
      .regex(/^[a-z_][a-z0-9_]*$/, { error: "expected a lower-case SQL identifier" })
      .optional(),
  ),
  PGLITE_DIR: stringWithDefault(".pglite"),
  LOG_LEVEL: stringWithDefault("info").pipe(
    z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"], {
      error: "expected one of fatal, error, warn, info, debug, trace, silent",
    }),
  ),
  BOARD_USERNAME: stringWithDefault("admin"),
  BOARD_PASSWORD: optionalString(),
  ADMIN_API_TOKEN: optionalString().pipe(z.string().min(16, { error: "expected at least 16 characters" }).optional()),
  /** Checked against the queue list by loadConfig's caller (the list lives above config). */
  WORKER_QUEUES: csvList(),
  WORKER_CONCURRENCY: intInRange(1, 1000, 10),
  /** Lock of a running job; a job whose worker died is handed out again within about twice this. */
  WORKER_LOCK_DURATION_MS: intInRange(5_000, 600_000, 30_000),
  /**
   * Replicas that must confirm a job (Redis WAIT) before the receiver answers 2xx or the relay
   * deletes its SQS messages; 0 = the primary's word is enough (asynchronous replication).
   */
  REDIS_MIN_REPLICA_ACKS: intInRange(0, 10, 0),
  /**
   * How long WAIT may take before the receiver answers 503 / the relay keeps its messages. At
   * most 1 s: a request can wait two of these (see redis/replica-acks.ts), well inside the
   * providers' ~5 s timeout.
   */
  REDIS_REPLICA_ACK_TIMEOUT_MS: intInRange(10, 1_000, 500),
  /** HTTP workers of the web process (node:cluster, one port); Heroku sets it per dyno size. */
  WEB_CONCURRENCY: intInRange(1, 64, 1),
  SHUTDOWN_TIMEOUT_MS: intInRange(1000, 25_000, 20_000),
  /** Largest request body of the admin API, the dashboard and every other web route but the webhooks (WEBHOOK_MAX_BYTES). */
  MAX_BODY_BYTES: intInRange(1_024, 64 * 1024 * 1024, 1024 * 1024),
  /** Bearer token of /metrics on the web port (the port providers post to); unset = /metrics is not served there. */
  METRICS_TOKEN: optionalString().pipe(z.string().min(16, { error: "expected at least 16 characters" }).optional()),
  /** Worker and relay processes serve /metrics on this port; unset = off (web uses PORT, behind METRICS_TOKEN). */
  METRICS_PORT: z.preprocess(
    emptyToUndefined,
    z.coerce
      .number({ error: "expected a port from 0 to 65535" })
      .int({ error: "expected a port from 0 to 65535" })
      .min(0, { error: "expected a port from 0 to 65535" })
      .max(65535, { error: "expected a port from 0 to 65535" })
      .optional(),
  ),
});
