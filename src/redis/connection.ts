import { Redis, type RedisOptions } from "ioredis";

/**
 * Producers (the web receiver, the relay, the dlq tool) must fail fast when Redis is down so
 * the caller can answer 503 or keep the SQS message; workers must reconnect forever.
 */
export type RedisRole = "producer" | "worker";

export function createRedis(url: string, role: RedisRole, extra: RedisOptions = {}): Redis {
  const common: RedisOptions = { lazyConnect: false, connectionName: `hookrail-${role}` };
  const byRole: RedisOptions =
    role === "producer"
      ? {
          // Commands issued while disconnected fail at once instead of queueing.
          enableOfflineQueue: false,
          // No auto-pipelining: ioredis builds a Pipeline per batch and copies every defined
          // script command (BullMQ defines dozens) onto it, which costs more than the writes it
          // saves (measured in BENCHMARKS.md, "Receiver"). ioredis sends a command without
          // waiting for the previous reply either way, so one caller's commands still share
          // one round trip.
          enableAutoPipelining: false,
          maxRetriesPerRequest: 1,
          connectTimeout: 2_000,
          retryStrategy: (times) => Math.min(times * 200, 2_000),
        }
      : {
          // BullMQ workers require this: blocking commands must not be retried by ioredis.
          maxRetriesPerRequest: null,
          retryStrategy: (times) => Math.min(times * 500, 5_000),
        };
  return new Redis(url, { ...common, ...byRole, ...extra });
}

export class RedisPolicyError extends Error {
  constructor(policy: string) {
    super(
      `Redis maxmemory-policy is "${policy}", but hookrail needs "noeviction": under any eviction ` +
        `policy Redis silently deletes BullMQ keys when memory runs short, and jobs are lost. ` +
        `Set "maxmemory-policy noeviction" in redis.conf (or CONFIG SET maxmemory-policy noeviction).`,
    );
    this.name = "RedisPolicyError";
  }
}

/** Refuse to run on an evicting Redis. INFO works where CONFIG is disabled (managed Redis). */
export async function assertNoEviction(redis: Redis): Promise<void> {
  const info = await redis.info("memory");
  const match = /^maxmemory_policy:(\S+)/m.exec(info);
  const policy = match?.[1] ?? "unknown";
  if (policy !== "noeviction") throw new RedisPolicyError(policy);
}

/** Resolve once the client is ready, or reject after `timeoutMs`. */
export function waitReady(redis: Redis, timeoutMs = 5_000): Promise<void> {
  if (redis.status === "ready") return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis did not become ready within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      redis.off("ready", onReady);
    };
    redis.on("ready", onReady);
  });
}
