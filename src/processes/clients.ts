import type { Redis } from "ioredis";
import type { Config } from "../config/index.js";
import { openDatabase, type DbHandle } from "../db/client.js";
import { createLogger, type Logger } from "../log.js";
import { createMetrics, type Metrics } from "../metrics.js";
import { assertNoEviction, connectRedis, redisNodes, redisTarget, waitReady, type RedisClient, type RedisRole } from "../redis/connection.js";
import { connectedReplicas } from "../redis/replica-acks.js";
import { createQueueSet, type QueueSet } from "../queues/queue-set.js";
import { QUEUE_MODULES } from "./queue-modules.js";

export interface Clients {
  config: Config;
  log: Logger;
  /** One Redis or a Redis Cluster (REDIS_CLUSTER_NODES); queues share it. */
  redis: RedisClient;
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
  const redis = connectRedis(redisTarget(config), role);
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
async function warnFewReplicas(redis: RedisClient, wanted: number, log: Logger): Promise<void> {
  if (wanted <= 0) return;
  // On a cluster, the master with the fewest: its queues are the ones that would answer 503.
  const counts = await Promise.all((await redisNodes(redis, "master")).map((n: Redis) => connectedReplicas(n)));
  const connected = Math.min(...counts);
  if (connected < wanted) {
    log.warn(
      { wanted, connected },
      "REDIS_MIN_REPLICA_ACKS is more than the replicas connected now: webhooks answer 503 and the relay keeps its SQS messages until enough replicas are back",
    );
  }
}
