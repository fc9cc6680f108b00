import { UnrecoverableError, type Job } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import { createLogger } from "../src/log.js";
import { QUEUE_MODULES } from "../src/processes/queue-modules.js";
import { listDeadLetters } from "../src/queues/dead-letter.js";
import type { WorkerDeps } from "../src/processors/deps.js";
import type { Processor } from "../src/queues/queue-module.js";
import type { QueueSet } from "../src/queues/queue-set.js";
import { startWorkers, type WorkerHost } from "../src/queues/worker-host.js";
import { createRedis } from "../src/redis/connection.js";
import { paymentsProvider, type PaymentJob } from "../src/server/webhooks/providers/payments.js";
import { issuesOf } from "../src/validation/issues.js";
import { cleanup, testConfig, testEnv, TEST_REDIS_URL, uniqueName, waitFor } from "./helpers/env.js";
import { ROOT, spawnNode } from "./helpers/process.js";
import { openTestQueues } from "./helpers/stack.js";

const name = uniqueName("dlq");
const payment = (eventId: string) => ({
  referenceId: `ref-${eventId}`,
  amount: "100.00",
  currency: "USD",
  bankTransactionId: eventId,
  timestamp: "2026-12-01T10:00:00Z",
});
const job = (eventId: string) => ({ eventId, receivedAt: new Date().toISOString(), payload: payment(eventId) });

/** The worker host with the real queue list, the payments processor replaced by `processor`. */
const hostWith = (queues: QueueSet, prefix: string, connection: Redis, concurrency: number, processor: Processor<PaymentJob>) =>
  startWorkers({
    connection,
    queues,
    modules: QUEUE_MODULES,
    // Only the payments queue is served and its processor is the one given: nothing else of the deps is read.
    deps: { config: testConfig(prefix) } as WorkerDeps,
    processorOverrides: { payments: () => processor },
    serve: ["payments"],
    concurrency,
    log: createLogger("silent"),
  });

describe("dead letters", () => {
  let producer: Redis;
  let workerConn: Redis;
  let queues: QueueSet;
  let host: WorkerHost;
  const failing = new Set<string>();
  const runs: string[] = [];

  beforeAll(async () => {
    ({ redis: producer, queues } = await openTestQueues(name));
    workerConn = createRedis(TEST_REDIS_URL, "worker");
    host = hostWith(queues, name, workerConn, 2, async (data, j) => {
      runs.push(String(j.id));
      const id = data.eventId;
      if (id.startsWith("fatal")) throw new UnrecoverableError(`cannot ever process ${id}`);
      if (failing.has(id)) throw new Error(`provider said no to ${id}`);
      return "ok";
    });
  });

  afterAll(async () => {
    await host.close(5_000);
    await queues.close();
    producer.disconnect();
    workerConn.disconnect();
    await cleanup(name);
  });

  const dlqCli = (...args: string[]) => {
    const p = spawnNode(`${ROOT}dist/src/bin/dlq.js`, args, testEnv(name));
    return p.exited.then(({ code }) => ({ code, out: p.stdout(), err: p.stderr() }));
  };

  it("a job that always throws lands in the dead-letter queue after its attempts, and replay runs it again", async () => {
    failing.add("ev-always");
    await queues.queue("payments").add("payment", job("ev-always"), {
      jobId: "pay-ev-always",
      attempts: 3,
      backoff: { type: "fixed", delay: 20 },
    });
    const letters = await waitFor(async () => {
      const l = await listDeadLetters(queues.deadLetters("payments"));
      return l.length === 1 ? l : undefined;
    });
    const letter = letters[0]!;
    expect(letter.jobId).toBe("pay-ev-always");
    expect(letter.queue).toBe("payments");
    expect(letter.data).toEqual(expect.objectContaining({ eventId: "ev-always", payload: payment("ev-always") }));
    // The final reason says retrying stopped, then why the last attempt failed.
    expect(letter.failedReason).toMatch(/^gave up after 3 attempts over \d+ (ms|s): provider said no to ev-always$/);
    expect(letter.attemptsMade).toBe(3);
    expect(letter.unrecoverable).toBe(false);
    expect(letter.stacktrace.join("\n")).toContain("provider said no");
    expect(letter.createdAt).toBeTypeOf("number");
    expect(runs.filter((r) => r === "pay-ev-always")).toHaveLength(3);
    await waitFor(async () => (await queues.queue("payments").getJobState("pay-ev-always")) === "failed");

    // The CLI lists it.
    const listed = await dlqCli("list", "payments");
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.out.trim())).toEqual(expect.objectContaining({ jobId: "pay-ev-always", id: letter.id, failedReason: letter.failedReason }));

    // The provider recovers; replay puts it back under its original id and it completes.
    failing.delete("ev-always");
    const replayed = await dlqCli("replay", "payments", "--id", "pay-ev-always");
    expect(replayed.code).toBe(0);
    expect(JSON.parse(replayed.out)).toEqual({ replayed: ["pay-ev-always"], skipped: [] });
    await waitFor(async () => (await queues.queue("payments").getJobState("pay-ev-always")) === "completed");
    expect(runs.filter((r) => r === "pay-ev-always")).toHaveLength(4);
    expect(await listDeadLetters(queues.deadLetters("payments"))).toHaveLength(0);
  });

  it("a job that fails again after a replay gets its own letter; replaying removes the older ones", async () => {
    const { addDeadLetter } = await import("../src/queues/dead-letter.js");
    const dlq = queues.deadLetters("payments");
    const base = {
      kind: "job" as const,
      queue: "payments",
      jobId: "pay-twice",
      name: "payment",
      data: job("ev-twice"),
      failedReason: "no",
      stacktrace: [],
      attemptsMade: 1,
      createdAt: 1,
      finishedOn: 2,
      deadLetteredAt: 2,
      unrecoverable: false,
    };
    // The same failure recorded twice (the worker retried its own write) is one letter...
    await addDeadLetter(dlq, { ...base, processedOn: 1000 });
    await addDeadLetter(dlq, { ...base, processedOn: 1000 });
    expect((await listDeadLetters(dlq)).filter((l) => l.jobId === "pay-twice")).toHaveLength(1);
    // ...a later failure of the replayed job is a second one, not swallowed by the first.
    await addDeadLetter(dlq, { ...base, processedOn: 2000, failedReason: "no again" });
    expect((await listDeadLetters(dlq)).filter((l) => l.jobId === "pay-twice").map((l) => l.failedReason)).toEqual(["no", "no again"]);
    const { replayDeadLetters } = await import("../src/queues/dead-letter.js");
    expect(await replayDeadLetters(queues.queue("payments"), dlq, ["pay-twice"])).toEqual({ replayed: ["pay-twice"], skipped: [] });
    await waitFor(async () => (await queues.queue("payments").getJobState("pay-twice")) === "completed");
    expect((await listDeadLetters(dlq)).filter((l) => l.jobId === "pay-twice")).toHaveLength(0);
  });

  it("an unrecoverable error is dead-lettered on its first attempt", async () => {
    await queues.queue("payments").add("payment", job("fatal-1"), { jobId: "pay-fatal-1", attempts: 5, backoff: { type: "fixed", delay: 20 } });
    const letter = await waitFor(async () => (await listDeadLetters(queues.deadLetters("payments"))).find((l) => l.jobId === "pay-fatal-1"));
    expect(letter.unrecoverable).toBe(true);
    expect(letter.attemptsMade).toBe(1);
    expect(letter.failedReason).toBe("cannot ever process fatal-1");
    expect(runs.filter((r) => r === "pay-fatal-1")).toHaveLength(1);
  });

  it("job data that breaks the queue's schema is dead-lettered as unrecoverable", async () => {
    await queues.queue("payments").add("payment", { nonsense: true } as never, { jobId: "pay-bad-data", attempts: 5 });
    const letter = await waitFor(async () => (await listDeadLetters(queues.deadLetters("payments"))).find((l) => l.jobId === "pay-bad-data"));
    expect(letter.unrecoverable).toBe(true);
    expect(letter.failedReason).toMatch(/^invalid job data: eventId/);
    expect(runs).not.toContain("pay-bad-data");
  });

  it("validates once: a payment job the receiver's reader would refuse, written straight to Redis, is dead-lettered with the reader's own messages and never reaches the processor", async () => {
    // What a hand-made or replayed job could hold: an amount with a thousands separator and a made-up currency.
    const bad = { ...payment("ev-unreadable"), amount: "1,000.00", currency: "XYZ" };
    const readerSays = paymentsProvider.reader.safeParse(bad);
    expect(readerSays.success).toBe(false);
    const readerIssues = issuesOf(readerSays.error!);
    expect(readerIssues).toEqual([
      'amount: expected an exact decimal amount: a JSON number or a string like "100.25"',
      "currency: expected an ISO 4217 currency code such as USD, EUR or GBP",
    ]);
    await queues
      .queue("payments")
      .add("payment.completed", { eventId: "ev-unreadable", receivedAt: new Date().toISOString(), payload: bad }, { jobId: "pay-unreadable", attempts: 5 });
    const letter = await waitFor(async () => (await listDeadLetters(queues.deadLetters("payments"))).find((l) => l.jobId === "pay-unreadable"));
    expect(letter.unrecoverable).toBe(true);
    expect(letter.attemptsMade).toBe(1);
    expect(letter.failedReason).toBe(`invalid job data: ${readerIssues.map((i) => `payload.${i}`).join("; ")}`);
    expect(runs).not.toContain("pay-unreadable");
  });

  it("replay --all, purge, and clear errors for bad arguments", async () => {
    failing.add("ev-a");
    failing.add("ev-b");
    for (const id of ["ev-a", "ev-b"]) {
      await queues.queue("payments").add("payment", job(id), { jobId: `pay-${id}`, attempts: 1 });
    }
    await waitFor(async () => (await listDeadLetters(queues.deadLetters("payments"))).filter((l) => l.jobId.startsWith("pay-ev-")).length === 2);
    // Still failing: replay --all runs them again and they come back as dead letters.
    const before = runs.length;
    const all = await dlqCli("replay", "payments", "--all");
    expect(all.code).toBe(0);
    const result = JSON.parse(all.out) as { replayed: string[] };
    expect(result.replayed).toEqual(expect.arrayContaining(["pay-ev-a", "pay-ev-b", "pay-fatal-1", "pay-bad-data", "pay-unreadable"]));
    await waitFor(async () => (await listDeadLetters(queues.deadLetters("payments"))).length === 5);
    expect(runs.length - before).toBe(3); // ev-a, ev-b and fatal-1 ran; bad data, replayed, is checked again and never reaches the processor

    const purged = await dlqCli("purge", "payments");
    expect(purged.out).toContain("purged 5 dead letter(s) from payments");
    expect(await listDeadLetters(queues.deadLetters("payments"))).toHaveLength(0);

    const badQueue = await dlqCli("list", "nowhere");
    expect(badQueue.code).toBe(2);
    expect(badQueue.err).toContain('unknown queue "nowhere"');
    const noTarget = await dlqCli("replay", "payments");
    expect(noTarget.code).toBe(2);
    expect(noTarget.err).toContain("either --all or one or more --id");
    const missing = await dlqCli("replay", "payments", "--id", "no-such");
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.out).skipped).toEqual([{ jobId: "no-such", reason: "no such dead letter" }]);
  });

  it("one id form: the id the dashboard shows for a dead letter (list's `id`) is what replay takes, also as copied from the dashboard's URL", async () => {
    // A provider's identity with `.` in it: its job id carries %2E, its letter's id a .<timestamp> suffix.
    const jobId = "pay-BTX%2E77.payment%2Ecompleted";
    failing.add("ev-dotted");
    await queues.queue("payments").add("payment", job("ev-dotted"), { jobId, attempts: 1 });
    const letter = await waitFor(async () => (await listDeadLetters(queues.deadLetters("payments"))).find((l) => l.jobId === jobId));
    expect(letter.id).toMatch(/^pay-BTX%2E77\.payment%2Ecompleted\.\d+$/);
    // The dashboard lists the dead-letter queue's jobs: the letter is the job with exactly this id.
    expect((await queues.deadLetters("payments").getJob(letter.id))?.data.jobId).toBe(jobId);
    const listed = await dlqCli("list", "payments");
    expect(JSON.parse(listed.out.trim().split("\n").at(-1)!).id).toBe(letter.id);

    failing.delete("ev-dotted");
    const replayed = await dlqCli("replay", "payments", "--id", letter.id);
    expect(replayed.code).toBe(0);
    expect(JSON.parse(replayed.out)).toEqual({ replayed: [jobId], skipped: [] });
    await waitFor(async () => (await queues.queue("payments").getJobState(jobId)) === "completed");

    // Again, with the id as the dashboard's address bar shows it (% encoded once more).
    failing.add("ev-dotted");
    await queues.queue("payments").remove(jobId);
    await queues.queue("payments").add("payment", job("ev-dotted"), { jobId, attempts: 1 });
    const again = await waitFor(async () => (await listDeadLetters(queues.deadLetters("payments"))).find((l) => l.jobId === jobId));
    failing.delete("ev-dotted");
    const fromUrl = await dlqCli("replay", "payments", "--id", encodeURIComponent(again.id));
    expect(JSON.parse(fromUrl.out)).toEqual({ replayed: [jobId], skipped: [] });
    await waitFor(async () => (await queues.queue("payments").getJobState(jobId)) === "completed");
    expect(await listDeadLetters(queues.deadLetters("payments"))).toHaveLength(0);
  });
});

describe("postponing a job", () => {
  const pname = uniqueName("delay");
  it("a processor that moves its job to delayed and throws DelayedError spends no attempt and is not dead-lettered", async () => {
    const { DelayedError } = await import("bullmq");
    const { redis: producer, queues } = await openTestQueues(pname);
    const conn = createRedis(TEST_REDIS_URL, "worker");
    let calls = 0;
    const host = hostWith(queues, pname, conn, 1, async (_data, j: Job, _log, token) => {
      calls++;
      if (calls <= 3) {
        await j.moveToDelayed(Date.now() + 20, token);
        throw new DelayedError();
      }
      return "done";
    });
    try {
      await queues.queue("payments").add("payment", job("ev-later"), { jobId: "pay-later", attempts: 1 });
      await waitFor(async () => (await queues.queue("payments").getJobState("pay-later")) === "completed");
      expect(calls).toBe(4);
      expect(await listDeadLetters(queues.deadLetters("payments"))).toHaveLength(0);
    } finally {
      await host.close(5_000);
      await queues.close();
      producer.disconnect();
      conn.disconnect();
      await cleanup(pname);
    }
  });
});
