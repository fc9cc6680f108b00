// bench/relay: broker events per second from SQS to applied state (relay + workers as real
// processes, Redis, Postgres), beside the emulator's own receive+delete rate on the same
// data in the same run. Usage (after `npm run build`):
//   node bench/relay/run.mjs            EVENTS=5000 GROUPS=100 WORKERS=2 CONCURRENCY=20 ROUNDS=1
// Each round measures the emulator baseline and then the relay, back to back, and prints
// both with their ratio and the CPU seconds each process group spent in the relay window.
import { spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import { Redis } from "ioredis";
import { openDatabase } from "../../dist/src/db/client.js";
import { migrateToLatest } from "../../dist/src/db/migrate.js";
import { startSqsEmulator, EMULATOR_CREDENTIALS } from "../../dist/src/dev/sqs-emulator.js";
import { cpuMeter, pidsMatching } from "./cpu.mjs";
import { dropScratchNamespace } from "../../dist/src/dev/scratch-namespace.js";

const EVENTS = Number(process.env.EVENTS ?? 5000);
const GROUPS = Number(process.env.GROUPS ?? 100);
const WORKERS = Number(process.env.WORKERS ?? 2);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 20);
const ROUNDS = Number(process.env.ROUNDS ?? 1);
const DATABASE_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const root = new URL("../../", import.meta.url).pathname;

const emulator = await startSqsEmulator();
const sqs = new SQSClient({ region: "us-east-1", endpoint: emulator.endpoint, credentials: EMULATOR_CREDENTIALS });

function dataset() {
  const events = [];
  let t = Date.now() - 60_000;
  for (let i = 0; i < EVENTS; i++) {
    const g = i % GROUPS;
    events.push({
      message_id: randomUUID(),
      event_type: "orders.OrderEvent.v1",
      timestamp: new Date(t++).toISOString(),
      payload: { orderId: `ord-${g}-${Math.floor(i / GROUPS) % 5}`, status: `STEP_${i}`, quantity: "1.50000000" },
      message_group_id: `acct-${g}`,
    });
  }
  return events;
}

async function load(label, events) {
  const primary = emulator.server.createQueue(`${label}-primary.fifo`, { attributes: { FifoQueue: "true", VisibilityTimeout: "60" } });
  const dr = emulator.server.createQueue(`${label}-dr.fifo`, { attributes: { FifoQueue: "true", VisibilityTimeout: "60" } });
  for (const url of [primary.queueUrl, dr.queueUrl]) {
    for (let i = 0; i < events.length; i += 10) {
      const chunk = events.slice(i, i + 10);
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: url,
          Entries: chunk.map((e, j) => ({
            Id: String(j),
            MessageBody: JSON.stringify(e),
            MessageGroupId: e.message_group_id,
            MessageDeduplicationId: e.message_id,
          })),
        }),
      );
    }
  }
  return { primary: primary.queueUrl, dr: dr.queueUrl };
}

function run(script, args, env) {
  // CHILD_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") goes to every child process.
  const nodeArgs = process.env.CHILD_NODE_ARGS ? process.env.CHILD_NODE_ARGS.split(" ") : [];
  const child = spawn(process.execPath, [...nodeArgs, script, ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const exited = new Promise((r) => child.on("exit", (code) => r(code)));
  return { child, exited, out: () => out };
}
const until = async (fn, ms = 50) => {
  while (!(await fn())) await new Promise((r) => setTimeout(r, ms));
};

async function round(round) {
  const name = `bench_relay_${randomBytes(4).toString("hex")}`;
  // 1. The emulator's own rate: a plain consumer in its own process, both queues at once.
  const rawQueues = await load(`raw${round}`, dataset());
  const selfBefore = process.cpuUsage();
  const raw = run(`${root}bench/relay/raw-consumer.mjs`, [emulator.endpoint, rawQueues.primary, rawQueues.dr], {});
  await raw.exited;
  const rawEmulatorCpu = process.cpuUsage(selfBefore);
  const rawResult = JSON.parse(raw.out().trim().split("\n").pop());
  const rawEventsPerSec = rawResult.messages / 2 / rawResult.seconds;

  // 2. The relay: same data, relay + workers as processes, until every event is applied.
  const dbh = await openDatabase({ databaseUrl: DATABASE_URL, schema: name, pgliteDir: "" });
  await migrateToLatest(dbh.db, name);
  const relayQueues = await load(`relay${round}`, dataset());
  const env = {
    DATABASE_URL,
    DATABASE_SCHEMA: name,
    REDIS_URL,
    QUEUE_PREFIX: name,
    LOG_LEVEL: "warn",
    WORKER_QUEUES: "broker-events",
    WORKER_CONCURRENCY: String(CONCURRENCY),
    BAKKT_SQS_PRIMARY_URL: relayQueues.primary,
    BAKKT_SQS_DR_URL: relayQueues.dr,
    AWS_ENDPOINT_URL_SQS: emulator.endpoint,
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey,
    RELAY_WAIT_TIME_SECONDS: "1",
  };
  const workers = Array.from({ length: WORKERS }, () => run(`${root}dist/src/bin/worker.js`, [], env));
  await new Promise((r) => setTimeout(r, 1500)); // workers connected and blocking on the queue
  // The clock starts when the relay is connected and polling (process start-up is not SQS work).
  const relay = run(`${root}dist/src/bin/relay.js`, [], { ...env, LOG_LEVEL: "info" });
  await until(async () => /"msg":"polling"/.test(relay.out()), 5);
  const started = performance.now();
  const cpu = cpuMeter({
    relay: [relay.child.pid],
    workers: workers.map((w) => w.child.pid),
    redis: pidsMatching(/^redis-server [^ ]*:6379/),
    postgres: () => pidsMatching(/^postgres: /),
  });
  // Also note when the relay has every job in Redis (hand-off rate, SQS -> BullMQ).
  const counter = new Redis(REDIS_URL);
  // Redis commands run in the window (script calls apart): a count, unlike CPU, is not noise.
  const commandCounts = async () => {
    const info = await counter.info("commandstats");
    const calls = (cmd) => Number(new RegExp(`^cmdstat_${cmd}:calls=(\\d+)`, "m").exec(info)?.[1] ?? 0);
    const total = [...info.matchAll(/^cmdstat_[^:]+:calls=(\d+)/gm)].reduce((a, m) => a + Number(m[1]), 0);
    return { total, scripts: calls("evalsha") + calls("eval") };
  };
  const commands0 = await commandCounts();
  let handedOffAt;
  const watchHandOff = (async () => {
    while (!handedOffAt) {
      const n = Number((await counter.get(`${name}:relay:seq:acct-0`)) ?? 0); // cheap probe first
      if (n >= Math.floor(EVENTS / GROUPS)) {
        const keys = await Promise.all(Array.from({ length: GROUPS }, (_, g) => counter.get(`${name}:relay:seq:acct-${g}`)));
        const jobs =
          (await counter.zcard(`${name}:broker-events:completed`)) +
          (await counter.llen(`${name}:broker-events:wait`)) +
          (await counter.llen(`${name}:broker-events:active`));
        if (keys.reduce((a, k) => a + Number(k ?? 0), 0) >= EVENTS && jobs >= EVENTS) handedOffAt = performance.now();
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const applied = async () =>
    Number(
      (
        await dbh.db
          .selectFrom("broker_events")
          .select((eb) => eb.fn.countAll().as("n"))
          .where("outcome", "is not", null)
          .executeTakeFirst()
      ).n,
    );
  // WORKERS=0 measures the relay's hand-off alone (nothing applies the events).
  await until(async () => (WORKERS === 0 ? handedOffAt !== undefined : (await applied()) >= EVENTS));
  const seconds = (performance.now() - started) / 1000;
  const cpuSeconds = cpu();
  const commands1 = await commandCounts();
  await watchHandOff;
  counter.disconnect();
  const handOffSeconds = (handedOffAt - started) / 1000;
  const relayEventsPerSec = EVENTS / seconds;

  for (const p of [relay, ...workers]) p.child.kill("SIGTERM");
  await Promise.all([relay, ...workers].map((p) => p.exited));
  const left = [`relay${round}-primary.fifo`, `relay${round}-dr.fifo`].map((q) => {
    const s = emulator.server.inspectQueue(q);
    return s.messages.ready.length + s.messages.inflight.length;
  });
  await dbh.close();
  await dropScratchNamespace({ databaseUrl: DATABASE_URL, redisUrl: REDIS_URL, name });

  const result = {
    events: EVENTS,
    groups: GROUPS,
    workers: WORKERS,
    concurrency: CONCURRENCY,
    copiesPerEvent: 2,
    emulatorReceiveDelete: {
      seconds: +rawResult.seconds.toFixed(2),
      eventsPerSec: Math.round(rawEventsPerSec),
      messagesPerSec: Math.round(rawResult.messages / rawResult.seconds),
      cpuSeconds: { consumer: rawResult.cpuSeconds, benchAndEmulator: +((rawEmulatorCpu.user + rawEmulatorCpu.system) / 1e6).toFixed(2) },
    },
    relayToRedis: { seconds: +handOffSeconds.toFixed(2), eventsPerSec: Math.round(EVENTS / handOffSeconds) },
    relayToAppliedState: { seconds: +seconds.toFixed(2), eventsPerSec: Math.round(relayEventsPerSec) },
    ratio: +(relayEventsPerSec / rawEventsPerSec).toFixed(2),
    leftInSqs: left.reduce((a, b) => a + b, 0),
    cpuSecondsInRelayWindow: cpuSeconds,
    redisCallsPerEvent: {
      commands: +((commands1.total - commands0.total) / EVENTS).toFixed(1),
      scripts: +((commands1.scripts - commands0.scripts) / EVENTS).toFixed(1),
    },
  };
  return result;
}

const results = [];
for (let r = 1; r <= ROUNDS; r++) {
  const res = await round(r);
  results.push(res);
  console.log(JSON.stringify({ round: r, ...res }, null, 2));
}
sqs.destroy();
await emulator.stop();
if (ROUNDS > 1) {
  const ratios = results.map((r) => r.ratio).sort((a, b) => a - b);
  console.log(JSON.stringify({ rounds: ROUNDS, ratios: results.map((r) => r.ratio), medianRatio: ratios[Math.floor(ratios.length / 2)] }));
}
