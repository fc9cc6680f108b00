import { ReceiveMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig, ConfigError } from "../src/config/index.js";
import { listDeadLetters } from "../src/queues/dead-letter.js";
import { startSqsEmulator, type SqsEmulator } from "../src/dev/sqs-emulator.js";
import { parseBody } from "../src/relay/envelope.js";
import { brokerJobId } from "../src/relay/job.js";
import type { Clients } from "../src/processes/clients.js";
import { startRelaySide } from "../src/processes/relay.js";
import { createRedis } from "../src/redis/connection.js";
import { waitFor } from "./helpers/env.js";
import { emulatorClient, envelope, freshQueues, remaining, send } from "./helpers/relay.js";
import { startStack, type TestStack } from "./helpers/stack.js";
import { QUEUE_MODULES } from "../src/processes/queue-modules.js";

const metricValue = async (c: Clients, metric: string, labels: Record<string, string> = {}) => {
  const m = await c.metrics.registry.getSingleMetric(metric)?.get();
  return (m?.values ?? [])
    .filter((v) => Object.entries(labels).every(([k, val]) => (v.labels as Record<string, unknown>)[k] === val))
    .reduce((sum, v) => sum + v.value, 0);
};

describe("broker SQS relay (fauxqs, real Redis and Postgres)", () => {
  let emulator: SqsEmulator;
  let sqs: SQSClient;
  let stack: TestStack;
  let c: Clients;

  beforeAll(async () => {
    emulator = await startSqsEmulator();
    sqs = emulatorClient(emulator);
    stack = await startStack("relay", {
      env: { WORKER_QUEUES: "broker-events", RELAY_WAIT_TIME_SECONDS: "1", RELAY_VISIBILITY_TIMEOUT_SECONDS: "5" },
      worker: true,
    });
    c = stack.c;
  });
  afterAll(async () => {
    await stack?.close();
    sqs.destroy();
    await emulator.stop();
  });

  const entity = (kind: string, id: string) =>
    c.dbh.db.selectFrom("broker_entities").selectAll().where("kind", "=", kind).where("entity_id", "=", id).executeTakeFirst();

  it("applies the same event from the primary and the DR queue once and deletes both copies", async () => {
    const q = await freshQueues(sqs, "twin");
    const ev = envelope("acct-twin", { transferId: "tr-twin", status: "COMPLETED", amount: "100.25" });
    await send(sqs, q.primary, [ev]);
    await send(sqs, q.dr, [ev]);
    const before = await metricValue(c, "hookrail_relay_duplicates_dropped_total");
    const relay = startRelaySide(c, { queueUrls: { primary: q.primary, dr: q.dr }, sqs });
    try {
      await waitFor(
        async () =>
          remaining(emulator, q.names.primary).ready +
            remaining(emulator, q.names.primary).inflight +
            remaining(emulator, q.names.dr).ready +
            remaining(emulator, q.names.dr).inflight ===
          0,
        20_000,
        "both copies deleted",
      );
      await waitFor(async () => (await entity("transfers", "tr-twin"))?.status === "COMPLETED", 20_000, "the transfer applied");
    } finally {
      await relay.stop();
    }
    const rows = await c.dbh.db.selectFrom("broker_events").selectAll().where("message_id", "=", ev.message_id).execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.outcome).toBe("applied");
    expect(rows[0]!.payload).toEqual({ transferId: "tr-twin", status: "COMPLETED", amount: "100.25" });
    expect((await entity("transfers", "tr-twin"))!.applied_count).toBe(1);
    expect(await c.queues.queue("broker-events").getJobState(brokerJobId(ev.message_id))).toBe("completed");
    expect((await metricValue(c, "hookrail_relay_duplicates_dropped_total")) - before).toBe(1);
    expect(await metricValue(c, "hookrail_relay_messages_deleted_total", { queue: "primary" })).toBeGreaterThanOrEqual(1);
    expect(await metricValue(c, "hookrail_relay_messages_deleted_total", { queue: "dr" })).toBeGreaterThanOrEqual(1);
  });

  it("dead-letters a malformed message with its raw body, queue and receive count, deletes it, and its group keeps flowing", async () => {
    const q = await freshQueues(sqs, "malformed");
    const group = "acct-malformed";
    const first = envelope(group, { orderId: "ord-m", status: "IN_PROGRESS" }, "orders.OrderEvent.v1");
    const missing = { ...envelope(group, {}, "orders.OrderEvent.v1") } as Record<string, unknown>;
    delete missing.payload;
    const last = envelope(group, { orderId: "ord-m", status: "FILLED" }, "orders.OrderEvent.v1");
    await send(sqs, q.primary, [first, { raw: "{not json", group }, { raw: JSON.stringify(missing), group }, last]);
    const relay = startRelaySide(c, { queueUrls: { primary: q.primary }, sqs });
    try {
      await waitFor(async () => (await entity("orders", "ord-m"))?.status === "FILLED", 20_000, "the event behind the malformed ones applied");
      await waitFor(async () => remaining(emulator, q.names.primary).ready + remaining(emulator, q.names.primary).inflight === 0, 20_000, "queue empty");
    } finally {
      await relay.stop();
    }
    const letters = (await listDeadLetters(c.queues.deadLetters("broker-events"))).filter((l) => (l.source as { queueUrl?: string })?.queueUrl === q.primary);
    expect(letters).toHaveLength(2);
    for (const l of letters) {
      expect(l.kind).toBe("message");
      expect(l.source).toEqual(expect.objectContaining({ queue: "primary", receiveCount: 1, messageGroupId: group }));
    }
    const bodies = letters.map((l) => (l.source as { body: string }).body).sort();
    expect(bodies).toEqual([JSON.stringify(missing), "{not json"].sort());
    expect(letters.find((l) => (l.source as { body: string }).body === "{not json")!.failedReason).toMatch(/not JSON/);
    expect(letters.find((l) => (l.source as { body: string }).body !== "{not json")!.failedReason).toMatch(/payload/);
    const applied = await c.dbh.db
      .selectFrom("broker_events")
      .select(["message_id", "sequence"])
      .where("message_group_id", "=", group)
      .orderBy("applied_rank")
      .execute();
    expect(applied.map((r) => r.message_id)).toEqual([first.message_id, last.message_id]);
  });

  it("extends visibility during a slow hand-off instead of letting the message reappear", async () => {
    const q = await freshQueues(sqs, "slow", 2);
    const ev = envelope("acct-slow", { transferId: "tr-slow", status: "PENDING" });
    await send(sqs, q.primary, [ev]);
    let handingOff = false;
    const before = await metricValue(c, "hookrail_relay_visibility_extensions_total");
    // A 2 s visibility timeout, so the hand-off below outlasts it twice over.
    const relay = startRelaySide(
      { ...c, config: { ...c.config, RELAY_VISIBILITY_TIMEOUT_SECONDS: 2 } },
      {
        queueUrls: { primary: q.primary },
        sqs,
        hooks: {
          beforeHandOff: async () => {
            handingOff = true;
            await new Promise((r) => setTimeout(r, 4_500)); // more than twice the 2 s timeout
          },
        },
      },
    );
    try {
      await waitFor(async () => handingOff, 20_000, "hand-off to start");
      // Another consumer polling through the slow hand-off never gets the message.
      const deadline = Date.now() + 4_000;
      while (Date.now() < deadline) {
        const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: q.primary, WaitTimeSeconds: 1, MaxNumberOfMessages: 10 }));
        expect(out.Messages ?? []).toHaveLength(0);
      }
      await waitFor(async () => remaining(emulator, q.names.primary).ready + remaining(emulator, q.names.primary).inflight === 0, 20_000, "message deleted");
    } finally {
      await relay.stop();
    }
    expect((await metricValue(c, "hookrail_relay_visibility_extensions_total")) - before).toBeGreaterThanOrEqual(1);
    await waitFor(async () => (await entity("transfers", "tr-slow"))?.applied_count === 1, 20_000, "applied once");
  });

  it("deletes nothing when the jobs cannot be put in Redis; the messages come back and are applied once", async () => {
    const q = await freshQueues(sqs, "redisdown", 1);
    const evs = [envelope("acct-down", { transferId: "tr-down", status: "PENDING" }), envelope("acct-down", { transferId: "tr-down", status: "COMPLETED" })];
    await send(sqs, q.primary, evs);
    // A relay whose Redis connection is gone: producers fail fast instead of queueing.
    const deadRedis = createRedis(c.config.REDIS_URL, "producer");
    await waitFor(async () => deadRedis.status === "ready");
    const broken = await import("../src/queues/queue-set.js").then((m) => m.createQueueSet(deadRedis, c.config.QUEUE_PREFIX, QUEUE_MODULES));
    const before = await metricValue(c, "hookrail_relay_errors_total", { stage: "hand_off" });
    const brokenRelay = startRelaySide({ ...c, redis: deadRedis, queues: broken }, { queueUrls: { primary: q.primary }, sqs });
    deadRedis.disconnect();
    try {
      await waitFor(async () => (await metricValue(c, "hookrail_relay_errors_total", { stage: "hand_off" })) > before, 20_000, "a failed hand-off");
    } finally {
      await brokenRelay.stop();
      await broken.close().catch(() => {});
    }
    expect(remaining(emulator, q.names.primary).ready + remaining(emulator, q.names.primary).inflight).toBe(2);
    expect(await c.queues.queue("broker-events").getJob(brokerJobId(evs[0]!.message_id))).toBeUndefined();

    const relay = startRelaySide(c, { queueUrls: { primary: q.primary }, sqs });
    try {
      await waitFor(async () => (await entity("transfers", "tr-down"))?.status === "COMPLETED", 30_000, "applied after redelivery");
      await waitFor(async () => remaining(emulator, q.names.primary).ready + remaining(emulator, q.names.primary).inflight === 0, 20_000, "deleted");
    } finally {
      await relay.stop();
    }
    expect((await entity("transfers", "tr-down"))!.applied_count).toBe(2);
  });

  it("rejects bad relay settings with a clear message, and parses bodies without throwing", () => {
    expect(() => loadConfig({ BAKKT_SQS_PRIMARY_URL: "ftp://x", AWS_REGION: "mars", RELAY_WAIT_TIME_SECONDS: "30", METRICS_PORT: "x" })).toThrow(ConfigError);
    try {
      loadConfig({ BAKKT_SQS_PRIMARY_URL: "ftp://x", AWS_REGION: "mars", RELAY_WAIT_TIME_SECONDS: "30", METRICS_PORT: "x" });
    } catch (err) {
      const problems = (err as ConfigError).problems.join("\n");
      expect(problems).toMatch(/BAKKT_SQS_PRIMARY_URL: expected a https\/http URL/);
      expect(problems).toMatch(/AWS_REGION: expected an AWS region/);
      expect(problems).toMatch(/RELAY_WAIT_TIME_SECONDS: expected an integer from 0 to 20/);
      expect(problems).toMatch(/METRICS_PORT: expected a port/);
    }
    const ok = loadConfig({ BAKKT_SQS_PRIMARY_URL: "https://sqs.us-east-2.amazonaws.com/1/a.fifo", AWS_REGION: "us-east-2" });
    expect(ok.RELAY_WAIT_TIME_SECONDS).toBe(20);
    expect(ok.RELAY_MAX_MESSAGES).toBe(10);
    expect(parseBody("[]")).toEqual({ ok: false, reason: expect.stringMatching(/invalid envelope/) });
    expect(parseBody(JSON.stringify({ ...envelope("g", {}), event_type: "orders" }))).toEqual({ ok: false, reason: expect.stringMatching(/event_type/) });
    expect(parseBody(JSON.stringify(envelope("g", { a: 1 }, "orders/order-status/1.0.0"))).ok).toBe(true);
  });
});
