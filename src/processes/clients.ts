import type { Redis } from "ioredis";
import type { Config } from "../config/index.js";
import { openDatabase, type DbHandle } from "../db/client.js";
import { createLogger, type Logger } from "../log.js";
import { createMetrics, type Metrics } from "../metrics.js";
import { assertNoEviction, createRedis, waitReady, type RedisRole } from "../redis/connection.js";
import { connectedReplicas } from "../redis/replica-acks.js";
import { createQueueSet, type QueueSet } from "../queues/queue-set.js";
import { QUEUE_MODULES } from "./queue-modules.js";

export interface Clients {
  config: Config;
  log: Logger;
  redis: Redis;
  queues: QueueSet;
  dbh: DbHandle;
  metrics: Metrics;
}

/**
 * The composition root's shared part: every process builds its clients here from config and
 * hands them to the code that needs them. Refuses to run on an evicting Redis.
 */
export async function buildClients(config: Config, role: RedisRole, name: string): Promise<Clients> {
  const log = createLogger(config.LOG_LEVEL, { process: name });
  const redis = createRedis(config.REDIS_URL, role);
  redis.on("error", (err) => log.warn({ err: err.message }, "redis connection error"));
  try {
    await waitReady(redis, 10_000);
    await assertNoEviction(redis);
    await warnFewReplicas(redis, config.REDIS_MIN_REPLICA_ACKS, log);
  } catch (err) {
    redis.disconnect();
    throw err;
  }
  const dbh = await openDatabase({
    databaseUrl: config.DATABASE_URL,
    schema: config.DATABASE_SCHEMA,
    pgliteDir: config.PGLITE_DIR,
  });
  const queues = createQueueSet(redis, config.QUEUE_PREFIX, QUEUE_MODULES);
  return { config, log, redis, queues, dbh, metrics: createMetrics() };
}

export async function closeClients(c: Clients): Promise<void> {
  await c.queues.close();
  await c.dbh.close();
  c.redis.disconnect();
}

/**
 * Fewer replicas than REDIS_MIN_REPLICA_ACKS at start: a warning, not a refusal, since a
 * replica may be resyncing or being replaced; meanwhile every enqueue answers 503.
 */
async function warnFewReplicas(redis: Redis, wanted: number, log: Logger): Promise<void> {
  if (wanted <= 0) return;
  const connected = await connectedReplicas(redis);
  if (connected < wanted) {
    log.warn(
      { wanted, connected },
      "REDIS_MIN_REPLICA_ACKS is more than the replicas connected now: webhooks answer 503 and the relay keeps its SQS messages until enough replicas are back",
    );
  }
}
