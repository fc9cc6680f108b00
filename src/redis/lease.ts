import { randomUUID } from "node:crypto";
import type { Cluster, Redis } from "ioredis";

// Renew only our own lease; a lease another process took over after ours expired stays theirs.
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/**
 * A lease on one Redis key: one holder at a time, lost by a holder that stops renewing
 * (it died) after `ttlMs`. For work that is safe twice but wasteful (every write it makes
 * is conditional), not for mutual exclusion that correctness depends on.
 */
export class RedisLease {
  private readonly token = randomUUID();

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly key: string,
    private readonly ttlMs: number,
  ) {}

  async acquire(): Promise<boolean> {
    const renewed = (await this.redis.eval(RENEW, 1, this.key, this.token, String(this.ttlMs))) as number;
    if (renewed === 1) return true;
    return (await this.redis.set(this.key, this.token, "PX", this.ttlMs, "NX")) === "OK";
  }

  async release(): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key, this.token);
  }
}
