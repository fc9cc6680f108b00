import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import { openDatabase, type DbHandle } from "../src/db/client.js";
import { migrateToLatest } from "../src/db/migrate.js";
import { createQueueSet, type QueueSet } from "../src/queues/registry.js";
import { createRedis } from "../src/redis/connection.js";
import { cleanup, testEnv, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName, waitFor } from "./helpers/env.js";
import { ROOT, spawnNode } from "./helpers/process.js";

const name = uniqueName("sigterm");

describe("SIGTERM with a job in flight", () => {
  let redis: Redis;
  let queues: QueueSet;
  let dbh: DbHandle;
  beforeAll(async () => {
    dbh = await openDatabase({ databaseUrl: TEST_DATABASE_URL, schema: name, pgliteDir: "" });
    await migrateToLatest(dbh.db, name);
    redis = createRedis(TEST_REDIS_URL, "producer");
    queues = createQueueSet(redis, name);
  });
  afterAll(async () => {
    await queues.close();
    redis.disconnect();
    await dbh.close();
    await cleanup(name);
  });

  it("lets the job finish, then exits 0 well within 25 s", async () => {
    const p = spawnNode(`${ROOT}test/fixtures/slow-worker.mjs`, [], testEnv(name, { SLOW_MS: "3000", WORKER_QUEUES: "payments" }));
    await p.waitForOutput(/worker started/);
    await queues.queue("payments").add("payment", { eventId: "ev-slow", receivedAt: new Date().toISOString(), payload: {} }, { jobId: "pay-ev-slow" });
    await p.waitForOutput(/slow job started/);
    expect(await queues.queue("payments").getJobState("pay-ev-slow")).toBe("active");

    const sentAt = Date.now();
    p.child.kill("SIGTERM");
    const { code } = await p.exited;
    const took = Date.now() - sentAt;

    expect(code).toBe(0);
    expect(took).toBeLessThan(25_000);
    expect(p.stdout()).toContain("slow job finished");
    expect(await queues.queue("payments").getJobState("pay-ev-slow")).toBe("completed");
    const rows = await dbh.db.selectFrom("processed_events").selectAll().where("event_key", "=", "ev-slow").execute();
    expect(rows).toHaveLength(1);
  });

  it("a job too slow for the shutdown window is handed back and completes in another worker", async () => {
    const slow = spawnNode(`${ROOT}test/fixtures/slow-worker.mjs`, [], testEnv(name, { SLOW_MS: "60000", WORKER_QUEUES: "payments", SHUTDOWN_TIMEOUT_MS: "1000" }));
    await slow.waitForOutput(/worker started/);
    await queues.queue("payments").add("payment", { eventId: "ev-stuck", receivedAt: new Date().toISOString(), payload: {} }, { jobId: "pay-ev-stuck" });
    await slow.waitForOutput(/slow job started/);
    const sentAt = Date.now();
    slow.child.kill("SIGTERM");
    const { code } = await slow.exited;
    expect(code).toBe(0);
    expect(Date.now() - sentAt).toBeLessThan(25_000);
    expect(slow.stdout()).toContain("handing them back");

    const fast = spawnNode(`${ROOT}test/fixtures/slow-worker.mjs`, [], testEnv(name, { SLOW_MS: "10", WORKER_QUEUES: "payments" }));
    try {
      await waitFor(async () => (await queues.queue("payments").getJobState("pay-ev-stuck")) === "completed", 60_000, "the handed-back job to complete");
      const rows = await dbh.db.selectFrom("processed_events").selectAll().where("event_key", "=", "ev-stuck").execute();
      expect(rows).toHaveLength(1);
    } finally {
      fast.child.kill("SIGTERM");
      await fast.exited;
    }
  }, 90_000);
});
