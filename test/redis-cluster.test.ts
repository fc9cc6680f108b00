import { randomBytes, randomUUID } from "node:crypto";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSqsEmulator, type SqsEmulator } from "../src/dev/sqs-emulator.js";
import { buildClients, closeClients, type Clients } from "../src/processes/clients.js";
import { QUEUE_MODULES } from "../src/processes/queue-modules.js";
import { startRelaySide } from "../src/processes/relay.js";
import { listDeadLetters, replayDeadLetters } from "../src/queues/dead-letter.js";
import { deadLetterName } from "../src/queues/queue-module.js";
import { ConfigError } from "../src/config/index.js";
import { loadProcessConfig } from "../src/processes/config.js";
import { RedisPolicyError, redisTarget } from "../src/redis/connection.js";
import { brokerEventsQueue } from "../src/relay/job.js";
import { registerSchedulers } from "../src/schedulers/register.js";
import { freePort } from "../src/dev/embedded-redis.js";
import { testConfig, testEnv, waitFor } from "./helpers/env.js";
import { ROOT, spawnNode } from "./helpers/process.js";
import { startRedisCluster, type TestCluster } from "./helpers/redis-cluster.js";
import { emulatorClient, envelope, freshQueues, remaining, send } from "./helpers/relay.js";
import { startStack, type TestStack } from "./helpers/stack.js";
import { paymentBody, standardHeaders } from "./helpers/webhook-senders.js";

const PAY = `whsec_${randomBytes(24).toString("base64")}`;

describe("REDIS_CLUSTER_NODES", () => {
  it("names a cluster by its seed nodes; unset leaves REDIS_URL in charge", () => {
    const cfg = loadProcessConfig({ REDIS_CLUSTER_NODES: "10.0.0.1:6379, rediss://:tok@10.0.0.2:6380" });
    expect(cfg.REDIS_CLUSTER_NODES).toEqual(["10.0.0.1:6379", "rediss://:tok@10.0.0.2:6380"]);
    expect(redisTarget(cfg)).toEqual({ clusterNodes: ["10.0.0.1:6379", "rediss://:tok@10.0.0.2:6380"] });
    expect(redisTarget(loadProcessConfig({ REDIS_URL: "redis://r:6379" }))).toEqual({ url: "redis://r:6379" });
  });

  it("rejects a seed that is not host:port or a redis URL, naming the variable and not the password", () => {
    let caught: unknown;
    try {
      loadProcessConfig({ REDIS_CLUSTER_NODES: "10.0.0.1:6379,https://:hunter2@x:1" });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as Error).message).toMatch(/REDIS_CLUSTER_NODES\.1: expected host:port or redis\(s\):\/\//);
    expect((caught as Error).message).not.toContain("hunter2");
  });
});

// One real local Redis Cluster (3 masters, 3 replicas, 1 s node timeout) for the file; a web
// side and a worker side built on it the way the processes build theirs (REDIS_CLUSTER_NODES),
// with REDIS_MIN_REPLICA_ACKS=1.
describe("on a Redis Cluster (3 masters + 3 replicas)", () => {
  let cluster: TestCluster;
  let stack: TestStack;
  let c: Clients;
  let env: Record<string, string>;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    env = {
      REDIS_CLUSTER_NODES: cluster.seeds.slice(0, 2).join(","),
      PAYMENTS_WEBHOOK_SECRETS: PAY,
      REDIS_MIN_REPLICA_ACKS: "1",
      REDIS_REPLICA_ACK_TIMEOUT_MS: "300",
      // A job whose worker lost its master is handed out again soon after the failover.
      WORKER_LOCK_DURATION_MS: "5000",
      RELAY_WAIT_TIME_SECONDS: "1",
      // Closing hands unfinished jobs back after this instead of waiting the default 20 s.
      SHUTDOWN_TIMEOUT_MS: "3000",
    };
    stack = await startStack("cluster", { env, web: true, worker: true });
    c = stack.c;
  });
  afterAll(async () => {
    try {
      // Bounded, so that the cluster's servers are stopped below whatever closing does.
      await Promise.race([stack?.close(), new Promise((r) => setTimeout(r, 40_000).unref())]);
    } finally {
      await cluster?.stop();
    }
  }, 90_000);

  /** The slot-owning master of a queue's keys (its `meta` key stands for all of them). */
  const masterOfQueue = (queue: string) => cluster.masterOf(`${c.queues.prefixOf(queue)}:${queue}:meta`);

  const seedOrders = async (refs: string[]) => {
    const investor = `inv-${randomUUID()}`;
    await c.dbh.db
      .insertInto("investors")
      .values({
        id: investor,
        wallet: `0x${randomBytes(20).toString("hex")}`,
        first_name: "Ada",
        last_name: "Lovelace",
        date_of_birth: "1980-01-01",
        nationality: "GB",
      })
      .execute();
    for (let i = 0; i < refs.length; i += 500) {
      await c.dbh.db
        .insertInto("orders")
        .values(
          refs.slice(i, i + 500).map((ref) => ({
            reference_id: ref,
            investor_id: investor,
            token_address: `0x${"11".repeat(20)}`,
            token_amount: "10",
            expected_amount: "2500.50",
            currency: "USD",
          })),
        )
        .execute();
    }
  };
  const postPayment = (ref: string, btx: string) => {
    const body = paymentBody({ referenceId: ref, bankTransactionId: btx, amount: "2500.50" });
    return fetch(`${stack.base}/webhooks/payments`, { method: "POST", body, headers: standardHeaders(PAY, body, { id: `msg_${btx}` }) });
  };
  const paidProofs = async (refs: string[]) => {
    const rows = await c.dbh.db.selectFrom("orders").select(["reference_id", "payment_proof", "status"]).where("reference_id", "in", refs).execute();
    return new Map(rows.filter((r) => r.payment_proof !== null).map((r) => [r.reference_id, r.payment_proof]));
  };

  it("gives every queue one hash slot shared with its dead letters, and spreads the queues over more than one master", async () => {
    const admin = cluster.admin(cluster.nodes[0]!.port);
    try {
      const slot = async (key: string) => Number(await admin.call("CLUSTER", "KEYSLOT", key));
      const slots = new Map<string, number>();
      for (const q of c.queues.names) {
        const prefix = c.queues.prefixOf(q);
        expect(prefix).toBe(`{${stack.name}:${q}}`);
        const s = await slot(`${prefix}:${q}:wait`);
        // A job's own key, another queue-level key and the dead letters' keys: one slot.
        expect(await slot(`${prefix}:${q}:some-job-id`)).toBe(s);
        expect(await slot(`${prefix}:${q}:events`)).toBe(s);
        expect(await slot(`${prefix}:${deadLetterName(q)}:wait`)).toBe(s);
        slots.set(q, s);
      }
      expect(new Set(slots.values()).size).toBe(c.queues.names.length);
      const masters = new Set(await Promise.all(c.queues.names.map(masterOfQueue)));
      expect(masters.size).toBeGreaterThan(1);
    } finally {
      admin.disconnect();
    }
  });

  it("takes a webhook on the listening web side, and a worker applies its job (the order is paid), once", async () => {
    const ref = `ATK-TX-${randomUUID()}`;
    await seedOrders([ref]);
    const first = await postPayment(ref, `BTX-${ref}`);
    expect(first.status).toBe(202);
    const { jobId } = (await first.json()) as { jobId: string };
    const again = await postPayment(ref, `BTX-${ref}`);
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ jobId, duplicate: true });
    await waitFor(async () => (await paidProofs([ref])).get(ref) === `BTX-${ref}`, 20_000, "order paid");
    // Every key of the queue (the job's hash among them) is on the master its slot names, and only there.
    const owner = await masterOfQueue("payments");
    const jobKey = c.queues.queue("payments").toKey(jobId);
    for (const m of await cluster.masters()) {
      const r = cluster.admin(m.port);
      try {
        const keys: string[] = [];
        let cursor = "0";
        do {
          const [nextCursor, batch] = await r.scan(cursor, "MATCH", `${c.queues.prefixOf("payments")}*`, "COUNT", 1000);
          cursor = nextCursor;
          keys.push(...batch);
        } while (cursor !== "0");
        if (m.port === owner) expect(keys).toContain(jobKey);
        else expect(keys).toEqual([]);
      } finally {
        r.disconnect();
      }
    }
  });

  it("runs the real web binary on the cluster with WEB_CONCURRENCY=2: a webhook is queued, then SIGTERM exits 0", async () => {
    const port = await freePort();
    const web = spawnNode(`${ROOT}dist/src/bin/web.js`, [], testEnv(stack.name, { ...env, PORT: String(port), WEB_CONCURRENCY: "2" }));
    try {
      await waitFor(async () => (web.stdout().match(/"msg":"web listening"/g)?.length ?? 0) >= 2, 30_000, "two web workers listening");
      const ref = `ATK-TX-${randomUUID()}`;
      await seedOrders([ref]);
      const body = paymentBody({ referenceId: ref, bankTransactionId: `BTX-${ref}`, amount: "2500.50" });
      const res = await fetch(`http://127.0.0.1:${port}/webhooks/payments`, { method: "POST", body, headers: standardHeaders(PAY, body) });
      expect(res.status).toBe(202);
      const { jobId } = (await res.json()) as { jobId: string };
      expect(await c.queues.queue("payments").getJob(jobId)).toBeDefined();
    } finally {
      web.child.kill("SIGTERM");
    }
    expect((await web.exited).code).toBe(0);
  });

  it("answers /readyz after pinging every master", async () => {
    const res = await fetch(`${stack.base}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ redis: "ok", postgres: "ok" });
  });

  it("registers every job scheduler, each on its own queue's slot", async () => {
    await registerSchedulers(c.queues, QUEUE_MODULES, c.config);
    const scheduled = QUEUE_MODULES.filter((m) => m.scheduler);
    expect(scheduled.length).toBeGreaterThan(0);
    for (const m of scheduled) {
      const q = c.queues.queue(m.name);
      expect((await q.getJobSchedulers()).map((s) => s.key)).toContain(m.scheduler!.id);
      // The scheduler's next run waits, delayed, in the same queue.
      expect(await q.getDelayedCount()).toBeGreaterThan(0);
    }
  });

  it("dead-letters a job a worker cannot take and replays it onto its queue", async () => {
    const id = `bad-${randomUUID()}`;
    const dlq = c.queues.deadLetters("payments");
    await c.queues.queue("payments").add("payment.completed", { eventId: id, not: "a payment" }, { jobId: id });
    const letter = await waitFor(async () => (await listDeadLetters(dlq)).find((l) => l.jobId === id), 20_000, "dead letter");
    expect(letter.failedReason).toMatch(/invalid job data/);
    const result = await replayDeadLetters(c.queues.queue("payments"), dlq, [id]);
    expect(result.replayed).toEqual([id]);
    // Replayed with the same bad data: it fails again and is dead-lettered again, a new letter.
    await waitFor(
      async () => (await listDeadLetters(dlq)).some((l) => l.jobId === id && l.deadLetteredAt > letter.deadLetteredAt),
      20_000,
      "second dead letter",
    );
  });

  describe("the relay", () => {
    let emulator: SqsEmulator;
    let sqs: SQSClient;
    beforeAll(async () => {
      emulator = await startSqsEmulator();
      sqs = emulatorClient(emulator);
    });
    afterAll(async () => {
      sqs?.destroy();
      await emulator?.stop();
    });

    it("numbers a group's messages in its broker-events slot, hands them to the worker once and deletes them from SQS", async () => {
      const q = await freshQueues(sqs, "cluster");
      const group = `acct-${randomUUID().slice(0, 8)}`;
      const evs = [1, 2, 3].map((n) => envelope(group, { transferId: `tr-${group}-${n}`, status: "COMPLETED", amount: `${n}.00` }));
      await send(sqs, q.primary, evs);
      await send(sqs, q.dr, evs);
      const relay = startRelaySide(c, { queueUrls: { primary: q.primary, dr: q.dr }, sqs });
      try {
        await waitFor(
          async () => [q.names.primary, q.names.dr].every((n) => remaining(emulator, n).ready + remaining(emulator, n).inflight === 0),
          20_000,
          "SQS drained",
        );
        const rows = await waitFor(
          async () => {
            const r = await c.dbh.db
              .selectFrom("broker_events")
              .select(["message_id", "sequence"])
              .where("message_group_id", "=", group)
              .orderBy("sequence")
              .execute();
            return r.length === 3 ? r : undefined;
          },
          20_000,
          "broker events stored",
        );
        expect(rows.map((r) => [r.message_id, Number(r.sequence)])).toEqual(evs.map((e, i) => [e.message_id.toLowerCase(), i + 1]));
        const seqKey = `${c.queues.prefixOf(brokerEventsQueue.name)}:relay:seq:${group}`;
        expect(await cluster.masterOf(seqKey)).toBe(await masterOfQueue(brokerEventsQueue.name));
        expect(await c.redis.get(seqKey)).toBe("3");
      } finally {
        await relay.stop();
      }
    });
  });

  it("refuses to start when any node, a replica too, may evict keys", async () => {
    const masters = new Set((await cluster.masters()).map((m) => m.port));
    const replica = cluster.nodes.find((n) => !masters.has(n.port))!;
    const admin = cluster.admin(replica.port);
    try {
      await admin.config("SET", "maxmemory-policy", "allkeys-lru");
      const err = await buildClients(testConfig(stack.name, env), "producer", "test").then(
        async (other) => {
          await closeClients(other);
          return undefined;
        },
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RedisPolicyError);
      expect((err as Error).message).toContain(`:${replica.port}`);
      expect((err as Error).message).toContain("allkeys-lru");
    } finally {
      await admin.config("SET", "maxmemory-policy", "noeviction");
      admin.disconnect();
    }
  });

  // Last: it changes the cluster's shape.
  it("fails over when a master is SIGKILLed during a burst, and every delivery answered 2xx has its one effect", async () => {
    const N = 300;
    const refs = Array.from({ length: N }, () => `ATK-TX-${randomUUID()}`);
    await seedOrders(refs);
    const victim = await masterOfQueue("payments");
    let answered2xx = 0;
    let retried = 0;
    let killed: Promise<void> | undefined;
    // Each delivery is retried like a provider would on a 5xx or a broken connection, until it
    // is answered 2xx.
    const deliver = async (ref: string) => {
      for (let attempt = 0; ; attempt++) {
        const status = await postPayment(ref, `BTX-${ref}`).then(
          (r) => r.status,
          () => 0,
        );
        if (status === 200 || status === 202) break;
        expect([0, 503]).toContain(status);
        retried++;
        await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** attempt, 500)));
      }
      answered2xx++;
      if (answered2xx === Math.floor(N / 5)) killed = cluster.kill(victim);
    };
    let next = 0;
    const sender = async () => {
      while (next < N) await deliver(refs[next++]!);
    };
    const burst = Promise.all(Array.from({ length: 8 }, sender));
    // The replica takes over the slots; the promoted master has no replica of its own until the
    // crashed node is back (it rejoins as the new master's replica): meanwhile its queues answer 503.
    await waitFor(async () => killed !== undefined, 30_000, "the kill");
    await killed;
    const promoted = await waitFor(
      async () => {
        const port = await masterOfQueue("payments").catch(() => victim);
        return port !== victim ? port : undefined;
      },
      30_000,
      "a replica promoted",
    );
    await cluster.restart(victim);
    await burst;
    expect(answered2xx).toBe(N);
    expect(retried).toBeGreaterThan(0);
    expect(await masterOfQueue("payments")).toBe(promoted);

    const paid = await waitFor(
      async () => {
        const p = await paidProofs(refs);
        return p.size === N ? p : undefined;
      },
      60_000,
      "every order paid",
    );
    for (const ref of refs) expect(paid.get(ref)).toBe(`BTX-${ref}`);
  });
});
