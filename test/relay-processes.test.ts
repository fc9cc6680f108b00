import type { SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSqsEmulator, EMULATOR_CREDENTIALS, type SqsEmulator } from "../src/dev/sqs-emulator.js";
import { brokerJobId } from "../src/relay/job.js";
import type { Clients } from "../src/processes/clients.js";
import { testEnv, waitFor } from "./helpers/env.js";
import { ROOT, spawnNode, type Spawned } from "./helpers/process.js";
import { emulatorClient, envelope, freshQueues, remaining, send, type TestEnvelope } from "./helpers/relay.js";
import { startStack, type TestStack } from "./helpers/stack.js";

describe("relay and workers as real processes", () => {
  let emulator: SqsEmulator;
  let sqs: SQSClient;
  let stack: TestStack;
  let c: Clients;
  const running: Spawned[] = [];

  beforeAll(async () => {
    emulator = await startSqsEmulator();
    sqs = emulatorClient(emulator);
    stack = await startStack("relayproc");
    c = stack.c;
  });
  afterAll(async () => {
    // The children use the namespace: they are killed before close() drops it.
    for (const p of running) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
    await stack?.close();
    sqs.destroy();
    await emulator.stop();
  });

  const relayEnv = (q: { primary: string; dr?: string }, extra: Record<string, string> = {}) =>
    testEnv(stack.name, {
      BAKKT_SQS_PRIMARY_URL: q.primary,
      ...(q.dr ? { BAKKT_SQS_DR_URL: q.dr } : {}),
      AWS_REGION: "us-east-1",
      AWS_ENDPOINT_URL_SQS: emulator.endpoint,
      // The SDK's normal credential chain reads these.
      AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey,
      RELAY_WAIT_TIME_SECONDS: "1",
      ...extra,
    });
  const spawn = (script: string, env: NodeJS.ProcessEnv) => {
    const p = spawnNode(script, [], env);
    running.push(p);
    return p;
  };
  const stop = async (p: Spawned) => {
    p.child.kill("SIGTERM");
    return p.exited;
  };
  const workers = (n: number) =>
    Array.from({ length: n }, () =>
      spawn(`${ROOT}test/fixtures/broker-worker.mjs`, testEnv(stack.name, { WORKER_QUEUES: "broker-events", WORKER_CONCURRENCY: "8", MAX_DELAY_MS: "40" })),
    );
  const left = (names: string[]) => names.reduce((n, q) => n + remaining(emulator, q).ready + remaining(emulator, q).inflight, 0);
  const jobExists = async (ev: TestEnvelope) => (await c.queues.queue("broker-events").getJob(brokerJobId(ev.message_id))) !== undefined;

  it("3 worker processes apply 500 events over 20 groups in publish order within each group", async () => {
    const q = await freshQueues(sqs, "order");
    const groups = Array.from({ length: 20 }, (_, g) => `acct-${g}`);
    // Interleave groups the way a broker would publish them; each group's events numbered 0..24.
    const events: TestEnvelope[] = [];
    for (let n = 0; n < 25; n++) for (const g of groups) events.push(envelope(g, { transferId: `tr-${g}`, status: `STEP_${n}`, n }));
    await send(sqs, q.primary, events);
    await send(sqs, q.dr, events); // the broker publishes everything to both queues

    const ws = workers(3);
    await Promise.all(ws.map((w) => w.waitForOutput(/worker started/, 30_000)));
    const relay = spawn(`${ROOT}dist/src/bin/relay.js`, relayEnv(q));
    try {
      await waitFor(
        async () => {
          const r = await c.dbh.db
            .selectFrom("broker_events")
            .select((eb) => eb.fn.countAll<string>().as("n"))
            .where("message_group_id", "in", groups)
            .where("outcome", "is not", null)
            .executeTakeFirstOrThrow();
          return Number(r.n) === 500;
        },
        120_000,
        "500 events applied",
      );
      await waitFor(async () => left([q.names.primary, q.names.dr]) === 0, 30_000, "both queues drained");
    } finally {
      expect((await stop(relay)).code).toBe(0);
      for (const w of ws) expect((await stop(w)).code).toBe(0);
    }

    const rows = await c.dbh.db
      .selectFrom("broker_events")
      .select(["message_group_id", "sequence", "payload", "outcome", "applied_rank"])
      .where("message_group_id", "in", groups)
      .orderBy("applied_rank")
      .execute();
    expect(rows).toHaveLength(500);
    for (const g of groups) {
      const applied = rows.filter((r) => r.message_group_id === g);
      // Order of application (a Postgres sequence drawn at apply time) is publish order.
      expect(applied.map((r) => (r.payload as { n: number }).n)).toEqual(Array.from({ length: 25 }, (_, i) => i));
      expect(applied.map((r) => Number(r.sequence))).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
      expect(applied.every((r) => r.outcome === "applied")).toBe(true);
      const state = await c.dbh.db
        .selectFrom("broker_entities")
        .selectAll()
        .where("kind", "=", "transfers")
        .where("entity_id", "=", `tr-${g}`)
        .executeTakeFirstOrThrow();
      expect(state.status).toBe("STEP_24");
      expect(state.applied_count).toBe(25);
    }
    // The workers really ran concurrently: applications interleave across processes' jobs.
    expect(new Set(rows.slice(0, 40).map((r) => r.message_group_id)).size).toBeGreaterThan(1);
  }, 180_000);

  it("a relay killed between enqueue and delete: the message comes back after its visibility timeout and is applied once", async () => {
    const q = await freshQueues(sqs, "crash");
    const ev = envelope("acct-crash", { orderId: "ord-crash", status: "FILLED" }, "orders.OrderEvent.v1");
    await send(sqs, q.primary, [ev]);
    const crashing = spawn(`${ROOT}test/fixtures/relay-hooked.mjs`, relayEnv({ primary: q.primary }, { HOOK: "crash", RELAY_VISIBILITY_TIMEOUT_SECONDS: "3" }));
    await crashing.waitForOutput(/handed off /, 30_000);
    expect(await jobExists(ev)).toBe(true);
    expect(remaining(emulator, q.names.primary).inflight).toBe(1);
    crashing.child.kill("SIGKILL");
    await crashing.exited;

    const ws = workers(1);
    const relay = spawn(`${ROOT}dist/src/bin/relay.js`, relayEnv({ primary: q.primary }, { RELAY_VISIBILITY_TIMEOUT_SECONDS: "3" }));
    try {
      // Still in SQS until its timeout runs out; then the new relay receives it again and deletes it.
      await waitFor(async () => left([q.names.primary]) === 0, 60_000, "the message deleted by the second relay");
      await waitFor(
        async () =>
          (await c.dbh.db.selectFrom("broker_events").select("outcome").where("message_id", "=", ev.message_id).executeTakeFirst())?.outcome === "applied",
        30_000,
        "applied",
      );
    } finally {
      await stop(relay);
      await stop(ws[0]!);
    }
    expect(relay.stdout()).toContain('"msg":"polling"');
    const entity = await c.dbh.db
      .selectFrom("broker_entities")
      .selectAll()
      .where("kind", "=", "orders")
      .where("entity_id", "=", "ord-crash")
      .executeTakeFirstOrThrow();
    expect(entity.applied_count).toBe(1);
    expect(await c.dbh.db.selectFrom("broker_events").select("message_id").where("message_group_id", "=", "acct-crash").execute()).toHaveLength(1);
    // The redelivery was recognised: its group was numbered once.
    expect(await c.redis.get(`${stack.name}:relay:seq:acct-crash`)).toBe("1");
  }, 120_000);

  it("SIGTERM mid-batch: the batch in hand is enqueued then deleted, and nothing else is deleted", async () => {
    const q = await freshQueues(sqs, "sigterm");
    const events = Array.from({ length: 30 }, (_, i) => envelope(`acct-term-${i}`, { orderId: `ord-term-${i}`, status: "NEW" }, "orders.OrderEvent.v1"));
    await send(sqs, q.primary, events);
    const relay = spawn(
      `${ROOT}test/fixtures/relay-hooked.mjs`,
      relayEnv({ primary: q.primary }, { HOOK: "slow", HOOK_DELAY_MS: "2500", RELAY_VISIBILITY_TIMEOUT_SECONDS: "30" }),
    );
    await relay.waitForOutput(/handing off \d+ from primary/, 30_000);
    const sentAt = Date.now();
    const { code } = await stop(relay);
    expect(code).toBe(0);
    expect(Date.now() - sentAt).toBeLessThan(25_000);
    // Every batch whose hand-off had begun (the relay receives ahead, so up to
    // RELAY_BATCHES_IN_HAND of them) is finished; nothing else is touched.
    const batches = [...relay.stdout().matchAll(/handing off (\d+) from primary/g)].map((m) => Number(m[1]));
    const inHand = batches.reduce((a, b) => a + b, 0);
    expect(inHand).toBeGreaterThan(0);
    expect(batches.length).toBeLessThanOrEqual(2);
    expect(inHand).toBeLessThan(30);

    const stillThere = new Set(remaining(emulator, q.names.primary).bodies.map((b) => (JSON.parse(b) as TestEnvelope).message_id));
    const enqueued = new Set<string>();
    for (const ev of events) if (await jobExists(ev)) enqueued.add(ev.message_id);
    const deleted = events.filter((ev) => !stillThere.has(ev.message_id)).map((ev) => ev.message_id);
    // Exactly the batch in hand was enqueued and deleted; every deleted message has its job.
    expect(enqueued.size).toBe(inHand);
    expect(deleted.length).toBe(inHand);
    for (const id of deleted) expect(enqueued.has(id)).toBe(true);
    expect(stillThere.size).toBe(30 - inHand);
  }, 90_000);
});
