import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import { sql } from "kysely";
import type { DbHandle } from "../src/db/client.js";
import type { QueueSet } from "../src/queues/queue-set.js";
import { cleanup, testEnv, uniqueName, waitFor } from "./helpers/env.js";
import { ROOT, spawnNode } from "./helpers/process.js";
import { openTestDatabase, openTestQueues } from "./helpers/stack.js";

const name = uniqueName("sigterm");
const paymentJob = (eventId: string) => ({
  eventId,
  receivedAt: new Date().toISOString(),
  payload: { referenceId: `ref-${eventId}`, amount: "10.00", currency: "USD", bankTransactionId: eventId, timestamp: new Date().toISOString() },
});

describe("SIGTERM with a job in flight", () => {
  let redis: Redis;
  let queues: QueueSet;
  let dbh: DbHandle;
  beforeAll(async () => {
    dbh = await openTestDatabase(name);
    ({ redis, queues } = await openTestQueues(name));
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
    await queues.queue("payments").add("payment", paymentJob("ev-slow"), { jobId: "pay-ev-slow" });
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
    const { rows } = await sql`select job_id from slow_worker_effects where event_id = 'ev-slow'`.execute(dbh.db);
    expect(rows).toHaveLength(1);
  });

  it("a job too slow for the shutdown window is handed back and completes in another worker", async () => {
    const slow = spawnNode(
      `${ROOT}test/fixtures/slow-worker.mjs`,
      [],
      testEnv(name, { SLOW_MS: "60000", WORKER_QUEUES: "payments", SHUTDOWN_TIMEOUT_MS: "1000" }),
    );
    await slow.waitForOutput(/worker started/);
    await queues.queue("payments").add("payment", paymentJob("ev-stuck"), { jobId: "pay-ev-stuck" });
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
      const { rows } = await sql`select job_id from slow_worker_effects where event_id = 'ev-stuck'`.execute(dbh.db);
      expect(rows).toHaveLength(1);
    } finally {
      fast.child.kill("SIGTERM");
      await fast.exited;
    }
  }, 90_000);
});
