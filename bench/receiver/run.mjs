// Receiver benchmark: the full receive path against a bare Hono route that only reads the
// body, same load tool (autocannon), same connections, same requests, in one run.
//   npm run build && node bench/receiver/run.mjs [--duration 8] [--connections 10] [--rate 2000] [--rounds 2]
// Modes run alternately for --rounds rounds (the machine is shared, so load drifts); each
// mode's figures are the mean over its rounds, the per-round figures are printed too.
import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpus } from "node:os";
import autocannon from "autocannon";
import { startRedisServer } from "../../dist/src/dev/embedded-redis.js";
import { signStandardWebhook } from "../../dist/src/server/webhooks/verify/standard-webhooks.js";

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const DURATION = arg("duration", 8);
const ROUNDS = arg("rounds", 2);
const CONNECTIONS = arg("connections", 10);
const FIXED_RATE = arg("rate", 2000);
const secret = `whsec_${randomBytes(24).toString("base64")}`;
const run = randomBytes(3).toString("hex");

// Every request is a new, validly signed payment event (unique bankTransactionId), as a bank
// would send. They are signed before each phase so the load generator, which shares this
// machine's two cores with the server and Redis, spends nothing on crypto while measuring.
let prepared = [];
let next = 0;
function prepare(count, tag) {
  const ts = Math.floor(Date.now() / 1000);
  prepared = Array.from({ length: count }, (_, i) => {
    const body = JSON.stringify({
      referenceId: `ATK-TX-${i}`,
      amount: 1250.75,
      currency: "USD",
      bankTransactionId: `BTX-${run}-${tag}-${i}`,
      timestamp: "2026-03-01T12:00:00Z",
      rail: "SEPA",
    });
    const id = `msg_${run}_${tag}_${i}`;
    return {
      method: "POST",
      path: "/webhooks/payments",
      body,
      headers: {
        "content-type": "application/json",
        "webhook-id": id,
        "webhook-timestamp": String(ts),
        "webhook-signature": signStandardWebhook(secret, id, ts, body),
      },
    };
  });
  next = 0;
}
// Past the prepared set, requests repeat (then they are duplicates); the count is sized to avoid that.
const signedRequest = (req) => ({ ...req, ...prepared[next++ % prepared.length] });

async function startServer(mode, redisUrl) {
  const execArgv = process.env.SERVER_NODE_ARGS ? process.env.SERVER_NODE_ARGS.split(" ") : [];
  const child = fork(new URL("./server.mjs", import.meta.url), [mode, redisUrl, secret], { stdio: ["ignore", "ignore", "inherit", "ipc"], execArgv });
  const { port } = await new Promise((resolve, reject) => {
    child.once("message", resolve);
    child.once("exit", (code) => reject(new Error(`${mode} server exited with ${code}`)));
  });
  const cpu = () =>
    new Promise((resolve) => {
      child.once("message", (m) => resolve(m.cpuUs));
      child.send("cpu");
    });
  return {
    port,
    cpu,
    stop: () =>
      new Promise((r) => {
        child.once("exit", r);
        child.send("stop");
      }),
  };
}

function load(port, opts, count, tag) {
  prepare(count, tag);
  return new Promise((resolve, reject) => {
    autocannon(
      { url: `http://127.0.0.1:${port}`, connections: CONNECTIONS, duration: DURATION, requests: [{ setupRequest: signedRequest }], ...opts },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
  });
}

// One load phase, with the CPU per request of the server process and of Redis over it: steadier
// than throughput on a shared machine, and it says where a request's cost lies.
async function measured(server, opts, count, tag) {
  const [cpu0, redis0] = [await server.cpu(), await redisCpuUs()];
  const load0 = process.cpuUsage();
  const run = await load(server.port, opts, count, tag);
  const loadCpu = process.cpuUsage(load0);
  return {
    ...summary(run),
    serverCpuUsPerReq: Math.round(((await server.cpu()) - cpu0) / run.requests.total),
    redisCpuUsPerReq: Math.round(((await redisCpuUs()) - redis0) / run.requests.total),
    // autocannon runs in this process: its share of the two cores is part of every request.
    loadCpuUsPerReq: Math.round((loadCpu.user + loadCpu.system) / run.requests.total),
  };
}

const summary = (r) => ({
  reqPerSec: Math.round(r.requests.average),
  p50ms: r.latency.p50,
  p99ms: r.latency.p99,
  non2xx: r.non2xx,
  errors: r.errors + r.timeouts,
});

const redis = await startRedisServer();
const { Redis } = await import("ioredis");
const redisClient = new Redis(redis.url);
const redisCpuUs = async () => {
  const info = await redisClient.info("cpu");
  return 1e6 * (Number(/used_cpu_user:([\d.]+)/.exec(info)[1]) + Number(/used_cpu_sys:([\d.]+)/.exec(info)[1]));
};
const MODES = (process.env.MODES ?? "bare,bare-web,add,addonce,full").split(",");
const rounds = Object.fromEntries(MODES.map((m) => [m, []]));
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of MODES) {
      const server = await startServer(mode, redis.url);
      const tag = `${mode}-${round}`;
      await load(server.port, { duration: 2 }, 40_000, `${tag}-warm`); // JIT, connections, Redis scripts
      const max = await measured(server, {}, 25_000 * DURATION, `${tag}-max`);
      const fixed = await measured(server, { overallRate: FIXED_RATE }, FIXED_RATE * DURATION + 1000, `${tag}-fixed`);
      rounds[mode].push({ max, fixed });
      await server.stop();
    }
  }
} finally {
  redisClient.disconnect();
  await redis.stop();
}
const mean = (xs) => Math.round((10 * xs.reduce((a, b) => a + b, 0)) / xs.length) / 10;
const results = Object.fromEntries(
  MODES.map((m) => [
    m,
    Object.fromEntries(["max", "fixed"].map((k) => [k, Object.fromEntries(Object.keys(rounds[m][0][k]).map((f) => [f, mean(rounds[m].map((r) => r[k][f]))]))])),
  ]),
);

const ratio = (a, b) => (results[a] && results[b] ? `${Math.round((100 * results[a].max.reqPerSec) / results[b].max.reqPerSec)}%` : "n/a");
console.log(
  JSON.stringify(
    {
      machine: `${cpus().length} x ${cpus()[0]?.model}`,
      node: process.version,
      connections: CONNECTIONS,
      durationS: DURATION,
      fixedRate: FIXED_RATE,
      rounds: ROUNDS,
      perRound: rounds,
      mean: results,
    },
    null,
    2,
  ),
);
for (const m of MODES)
  console.log(
    `${m.padEnd(8)} max ${results[m].max.reqPerSec} req/s p50 ${results[m].max.p50ms} ms p99 ${results[m].max.p99ms} ms cpu/req server ${results[m].max.serverCpuUsPerReq} us redis ${results[m].max.redisCpuUsPerReq} us load tool ${results[m].max.loadCpuUsPerReq} us | at ${FIXED_RATE} req/s: p50 ${results[m].fixed.p50ms} ms p99 ${results[m].fixed.p99ms} ms cpu/req server ${results[m].fixed.serverCpuUsPerReq} us redis ${results[m].fixed.redisCpuUsPerReq} us`,
  );
console.log(
  `full path / bare route throughput: ${ratio("full", "bare")} (plain queue.add / bare: ${ratio("add", "bare")}; full / bare-web: ${ratio("full", "bare-web")})`,
);
if (results.full) console.log(`full path p99 at ${FIXED_RATE} req/s: ${results.full.fixed.p99ms} ms`);
