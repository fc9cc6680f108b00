// Horizontal scaling: the same backlog of AML screenings (an I/O-bound processor: two reads,
// one provider call that takes 50 ms, one write) drained by 1, 2 and 4 worker processes,
// measured in one run, alternating process counts across rounds.
//   npm run build && node bench/scaling/run.mjs [--jobs 600] [--concurrency 4] [--rounds 2] [--latency 50]
// Needs Redis on 127.0.0.1:6379 and Postgres on 127.0.0.1:5432 (REDIS_URL / DATABASE_URL).
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { Redis } from "ioredis";
import { Queue } from "bullmq";
import { startComplyAdvantageStub } from "../../dist/src/dev/stubs/complyadvantage.js";
import { openDatabase } from "../../dist/src/db/client.js";
import { migrateToLatest } from "../../dist/src/db/migrate.js";
import { dropScratchNamespace } from "../../dist/src/dev/scratch-namespace.js";

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const JOBS = arg("jobs", 600);
const CONCURRENCY = arg("concurrency", 4);
const ROUNDS = arg("rounds", 2);
const LATENCY = arg("latency", 50);
const COUNTS = [1, 2, 4];
const DATABASE_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const name = `bench_scaling_${randomBytes(3).toString("hex")}`;

const stub = await startComplyAdvantageStub("bench-key", { delayMs: LATENCY, recordRequests: false });
const dbh = await openDatabase({ databaseUrl: DATABASE_URL, schema: name, pgliteDir: "" });
await migrateToLatest(dbh.db, name);
const investors = Array.from({ length: JOBS }, (_, i) => ({
  id: `inv-${i}`,
  wallet: `0x${(i + 1).toString(16).padStart(40, "0")}`,
  first_name: "Bench",
  last_name: `Investor ${i}`,
  date_of_birth: "1980-01-01",
  nationality: "DE",
  kyc_status: "approved",
}));
for (let i = 0; i < investors.length; i += 500)
  await dbh.db
    .insertInto("investors")
    .values(investors.slice(i, i + 500))
    .execute();

const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
const queue = new Queue("aml-screening", { connection, prefix: name });

function startWorkers(n) {
  const env = {
    PATH: process.env.PATH,
    DATABASE_URL,
    DATABASE_SCHEMA: name,
    REDIS_URL,
    QUEUE_PREFIX: name,
    LOG_LEVEL: "warn",
    WORKER_QUEUES: "aml-screening",
    WORKER_CONCURRENCY: String(CONCURRENCY),
    AML_RATE_LIMIT_PER_SECOND: "10000",
    COMPLYADVANTAGE_API_URL: stub.url,
    COMPLYADVANTAGE_API_KEY: stub.apiKey,
  };
  return Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise((resolve, reject) => {
          const child = spawn(process.execPath, [`${ROOT}dist/src/bin/worker.js`], {
            env: { ...env, LOG_LEVEL: "info" },
            stdio: ["ignore", "pipe", "inherit"],
          });
          let out = "";
          child.stdout.on("data", (d) => {
            out += d;
            if (out.includes("worker started")) resolve(child);
          });
          child.on("exit", (code) => reject(new Error(`worker exited ${code}`)));
        }),
    ),
  );
}

async function runOnce(n, period) {
  const workers = await startWorkers(n);
  const started = Date.now();
  await queue.addBulk(investors.map((inv) => ({ name: "screen", data: { period, investorId: inv.id }, opts: { jobId: `aml-${period}-${inv.id}` } })));
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  for (;;) {
    const { rows } = await client.query(`select count(*)::int as n from "${name}".aml_screenings where period = $1`, [period]);
    if (rows[0].n >= JOBS) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const seconds = (Date.now() - started) / 1000;
  await client.end();
  await Promise.all(
    workers.map(
      (w) =>
        new Promise((r) => {
          w.removeAllListeners("exit");
          w.once("exit", r);
          w.kill("SIGTERM");
        }),
    ),
  );
  return JOBS / seconds;
}

const results = Object.fromEntries(COUNTS.map((n) => [n, []]));
let p = 0;
for (let round = 0; round < ROUNDS; round++) {
  for (const n of round % 2 === 0 ? COUNTS : [...COUNTS].reverse()) {
    const rate = await runOnce(n, `2031-${String(++p).padStart(2, "0")}`);
    results[n].push(rate);
    console.log(`round ${round + 1}: ${n} worker process(es): ${rate.toFixed(1)} screenings/s`);
  }
}
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
console.log(
  `\nmachine: ${cpus().length} x ${cpus()[0]?.model}, load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")}`,
);
console.log(`jobs ${JOBS}, concurrency ${CONCURRENCY} per process, provider latency ${LATENCY} ms, rounds ${ROUNDS}`);
for (const n of COUNTS) console.log(`${n} process(es): ${mean(results[n]).toFixed(1)} screenings/s (${(mean(results[n]) / mean(results[1])).toFixed(2)}x one)`);

await queue.obliterate({ force: true }).catch(() => {});
await queue.close();
connection.disconnect();
await dbh.close();
await dropScratchNamespace({ databaseUrl: DATABASE_URL, redisUrl: REDIS_URL, name });
await stub.close();
