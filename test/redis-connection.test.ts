import { randomBytes } from "node:crypto";
import type { Socket } from "node:net";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedis, waitReady } from "../src/redis/connection.js";
import { TEST_REDIS_URL } from "./helpers/env.js";

/** Count the socket's writes to the kernel (one `_write` or one `_writev` each). */
function countKernelWrites(redis: Redis): () => number {
  const socket = redis.stream as Socket & { _write: (...a: unknown[]) => void; _writev: (...a: unknown[]) => void };
  let n = 0;
  for (const m of ["_write", "_writev"] as const) {
    const orig = socket[m];
    socket[m] = function (this: Socket, ...args: unknown[]) {
      n++;
      return orig.apply(this, args);
    };
  }
  return () => n;
}

describe("the producer connection's write coalescing", () => {
  let redis: Redis;
  let plain: Redis;
  const key = `t_coalesce_${randomBytes(4).toString("hex")}`;
  beforeAll(async () => {
    redis = createRedis(TEST_REDIS_URL, "producer");
    plain = createRedis(TEST_REDIS_URL, "producer", {}, { coalesceWrites: false });
    await Promise.all([waitReady(redis), waitReady(plain)]);
  });
  afterAll(async () => {
    await redis.del(key);
    redis.disconnect();
    plain.disconnect();
  });

  it("sends the commands of one event-loop turn in one write, in order, and answers each", async () => {
    const writes = countKernelWrites(redis);
    const replies = await Promise.all(Array.from({ length: 50 }, () => redis.incr(key)));
    expect(replies).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(writes()).toBe(1);
    // A later turn's commands are not held back by the earlier batch: one more write.
    expect(await redis.incr(key)).toBe(51);
    expect(writes()).toBe(2);
  });

  it("without it, every command is a write of its own", async () => {
    const writes = countKernelWrites(plain);
    await Promise.all(Array.from({ length: 10 }, () => plain.get(key)));
    expect(writes()).toBe(10);
  });
});
