import { randomBytes } from "node:crypto";
import { serve, type ServerType } from "@hono/node-server";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedisServer, type EmbeddedRedis } from "../src/dev/embedded-redis.js";
import { startSqsEmulator, type SqsEmulator } from "../src/dev/sqs-emulator.js";
import { createLogger } from "../src/log.js";
import { createMetrics } from "../src/metrics.js";
import { buildClients, closeClients, type Clients } from "../src/processes/clients.js";
import { QUEUE_MODULES } from "../src/processes/queue-modules.js";
import { startRelaySide } from "../src/processes/relay.js";
import { createQueueSet, type QueueSet } from "../src/queues/queue-set.js";
import { createRedis, waitReady } from "../src/redis/connection.js";
import { brokerJobId } from "../src/relay/job.js";
import { webhookRoutes } from "../src/server/webhooks/index.js";
import { testConfig, uniqueName, waitFor } from "./helpers/env.js";
import { emulatorClient, envelope, freshQueues, remaining, send } from "./helpers/relay.js";
import { paymentBody, standardHeaders } from "./helpers/webhook-senders.js";

const name = uniqueName("replica_acks");
const PAY = `whsec_${randomBytes(24).toString("base64")}`;

/** True once the primary lists `n` replicas in state online (the initial sync is over). */
async function replicasOnline(primary: Redis, n: number): Promise<boolean> {
  const info = await primary.info("replication");
  return [...info.matchAll(/^slave\d+:.*state=online/gm)].length >= n;
}

describe("REDIS_MIN_REPLICA_ACKS=1 on a real primary and replica", () => {
  let primary: EmbeddedRedis;
  let replica: EmbeddedRedis;
  let admin: Redis;
  let producer: Redis;
  let queues: QueueSet;
  let server: ServerType;
  let base: string;

  beforeAll(async () => {
    primary = await startRedisServer();
    replica = await startRedisServer(["--replicaof", "127.0.0.1", String(primary.port)]);
    admin = createRedis(primary.url, "worker");
    await waitFor(() => replicasOnline(admin, 1), 20_000, "replica online");
    producer = createRedis(primary.url, "producer");
    producer.on("error", () => {});
    await waitReady(producer);
    queues = createQueueSet(producer, name, QUEUE_MODULES);
    const config = testConfig(name, {
      REDIS_URL: primary.url,
      PAYMENTS_WEBHOOK_SECRETS: PAY,
      REDIS_MIN_REPLICA_ACKS: "1",
      REDIS_REPLICA_ACK_TIMEOUT_MS: "500",
    });
    const app = webhookRoutes({ config, queues, metrics: createMetrics(), log: createLogger("silent") });
    server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });

  afterAll(async () => {
    await new Promise((r) => server?.close(r));
    await queues?.close().catch(() => {});
    producer?.disconnect();
    admin?.disconnect();
    await replica?.stop();
    await primary?.stop();
  });

  const send1 = (id: string) => {
    const body = paymentBody({ bankTransactionId: id });
    return fetch(`${base}/payments`, { method: "POST", body, headers: standardHeaders(PAY, body) });
  };

  it("answers 202 once the job is on the replica", async () => {
    const res = await send1("BTX-rep-up");
    expect(res.status).toBe(202);
    const { jobId } = (await res.json()) as { jobId: string };
    const onReplica = createRedis(replica.url, "worker");
    try {
      // No waiting: WAIT already confirmed the replica applied the add.
      expect(await onReplica.exists(queues.queue("payments").toKey(jobId))).toBe(1);
    } finally {
      onReplica.disconnect();
    }
  });

  it("answers 503 after about the timeout with the replica down; the retry once it is back is a duplicate of one job", async () => {
    await replica.kill("SIGKILL");
    await waitFor(async () => !(await replicasOnline(admin, 1)), 10_000, "replica gone");
    const started = Date.now();
    const res = await send1("BTX-rep-down");
    const took = Date.now() - started;
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ error: "queue not replicated, retry later" });
    expect(took).toBeGreaterThanOrEqual(450);
    expect(took).toBeLessThan(1_500);

    await replica.restart();
    await waitFor(() => replicasOnline(admin, 1), 20_000, "replica back online");
    const retry = await send1("BTX-rep-down");
    expect(retry.status).toBe(200);
    const { jobId, duplicate } = (await retry.json()) as { jobId: string; duplicate: boolean };
    expect(duplicate).toBe(true);
    const jobs = await queues.queue("payments").getJobs(["waiting", "delayed", "prioritized"]);
    expect(jobs.filter((j) => j.id === jobId)).toHaveLength(1);
  });
});

describe("relay with REDIS_MIN_REPLICA_ACKS=1 and no replica", () => {
  let redis: EmbeddedRedis;
  let emulator: SqsEmulator;
  let sqs: SQSClient;
  let c: Clients;

  beforeAll(async () => {
    redis = await startRedisServer();
    emulator = await startSqsEmulator();
    sqs = emulatorClient(emulator);
    c = await buildClients(
      testConfig(`${name}_relay`, {
        REDIS_URL: redis.url,
        REDIS_MIN_REPLICA_ACKS: "1",
        REDIS_REPLICA_ACK_TIMEOUT_MS: "200",
        RELAY_WAIT_TIME_SECONDS: "1",
        RELAY_VISIBILITY_TIMEOUT_SECONDS: "2",
      }),
      "producer",
      "test",
    );
  });
  afterAll(async () => {
    if (c) await closeClients(c);
    sqs?.destroy();
    await emulator?.stop();
    await redis?.stop();
  });

  it("puts the jobs in Redis but deletes no message while no replica confirms them", async () => {
    const q = await freshQueues(sqs, "noreplica", 2);
    const evs = [envelope("acct-rep", { transferId: "tr-rep", status: "PENDING" }), envelope("acct-rep", { transferId: "tr-rep", status: "COMPLETED" })];
    await send(sqs, q.primary, evs);
    const errors = async () =>
      ((await c.metrics.registry.getSingleMetric("hookrail_relay_errors_total")?.get())?.values ?? [])
        .filter((v) => v.labels.stage === "hand_off")
        .reduce((s, v) => s + v.value, 0);
    const relay = startRelaySide(c, { queueUrls: { primary: q.primary }, sqs });
    try {
      // Two failed attempts: the messages came back after their visibility timeout and were kept again.
      await waitFor(async () => (await errors()) >= 2, 20_000, "two unreplicated hand-offs");
    } finally {
      await relay.stop();
    }
    expect(await c.queues.queue("broker-events").getJob(brokerJobId(evs[0]!.message_id))).toBeDefined();
    expect(remaining(emulator, q.names.primary).ready + remaining(emulator, q.names.primary).inflight).toBe(2);
  });
});
