// Receiver benchmark: the full receive path against a bare Hono route that only reads the
// body, same load tool (autocannon), same connections, same requests, in one run.
//   npm run build && node bench/receiver/run.mjs [--duration 8] [--connections 10] [--rate 2000] [--rounds 2] [--open-loop 1] [--skip-max 1] [--skip-fixed 1]
// Modes run alternately for --rounds rounds (the machine is shared, so load drifts); each
// mode's figures are the mean over its rounds, the per-round figures are printed too.
// MODES=web1,web2 run the real web process (dist/src/bin/web.js) with WEB_CONCURRENCY=1 / 2
// (web<N> = N workers) instead of bench/receiver/server.mjs; web<N>-ack<K> sets
// REDIS_MIN_REPLICA_ACKS=K, for which BENCH_REPLICA=1 gives the bench's Redis one replica;
// web<N>-before runs BEFORE_DIST/src/bin/web.js instead (another build, for before/after runs).
// Any mode + "@<label>" runs the build BENCH_DISTS names for that label (BENCH_DISTS=
// "json=/tmp/b1/dist,log=/tmp/b2/dist"; each build's directory needs node_modules beside it):
// designs measured side by side, alternating, in one run.
// Phases per mode: "max" (autocannon, as fast as it goes), "fixed" (autocannon overallRate:
// closed loop, 10 connections each waiting for its answer, so a slow answer delays the
// requests behind it and the queueing is hidden: coordinated omission), and with --open-loop
// "open": requests sent on a fixed schedule whatever the answers, each request's latency
// measured from the time it was due to be sent.
import { fork, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import http from "node:http";
import { randomBytes } from "node:crypto";
import { cpus, loadavg } from "node:os";
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
const OPEN_LOOP = arg("open-loop", 0) === 1;
const SKIP_MAX = arg("skip-max", 0) === 1;
const SKIP_FIXED = arg("skip-fixed", 0) === 1;
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

const DISTS = Object.fromEntries(
  (process.env.BENCH_DISTS ?? "")
    .split(",")
    .filter(Boolean)
    .map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
);

async function startServer(labelled, redisUrl) {
  const [mode, label] = labelled.split("@");
  const dist = label === undefined ? undefined : DISTS[label];
  if (label !== undefined && !dist) throw new Error(`BENCH_DISTS names no build "${label}"`);
  const web = /^web(\d+)(?:-ack(\d+))?(-before)?$/.exec(mode);
  if (web) return startWebProcess(Number(web[1]), redisUrl, web[2] ?? "0", web[3] ? process.env.BEFORE_DIST : dist);
  const execArgv = process.env.SERVER_NODE_ARGS ? process.env.SERVER_NODE_ARGS.split(" ") : [];
  const env = dist ? { ...process.env, BENCH_DIST: dist } : process.env;
  const child = fork(new URL("./server.mjs", import.meta.url), [mode, redisUrl, secret], { stdio: ["ignore", "ignore", "inherit", "ipc"], execArgv, env });
  const { port } = await new Promise((resolve, reject) => {
    child.once("message", resolve);
    child.once("exit", (code) => reject(new Error(`${mode} server exited with ${code}`)));
  });
  let pumpCpuUs;
  const cpu = () =>
    new Promise((resolve) => {
      child.once("message", (m) => {
        pumpCpuUs = m.pumpCpuUs;
        resolve(m.cpuUs);
      });
      child.send("cpu");
    });
  return {
    port,
    cpu,
    // The ingress design's pump (server.mjs "-pump" modes): its CPU as of the last cpu() call.
    pumpCpu: () => pumpCpuUs,
    stop: () =>
      new Promise((r) => {
        child.once("exit", r);
        child.send("stop");
      }),
  };
}

/** CPU time (µs) of a process and its children (the cluster workers), from /proc. */
function processTreeCpuUs(pid) {
  let us = 0;
  const visit = (p) => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      us += ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100; // utime + stime, in 100 Hz ticks
      for (const child of readFileSync(`/proc/${p}/task/${p}/children`, "utf8").trim().split(/\s+/).filter(Boolean)) visit(child);
    } catch {
      // gone between listing and reading
    }
  };
  visit(pid);
  return us;
}

/** The real web process, as deployed: its own config from the environment, every provider route. */
async function startWebProcess(workers, redisUrl, replicaAcks, dist) {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const script = dist ? `${dist}/src/bin/web.js` : new URL("../../dist/src/bin/web.js", import.meta.url).pathname;
  const child = spawn(process.execPath, [script], {
    stdio: ["ignore", "ignore", "inherit"],
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: "bench",
      DATABASE_URL: process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test",
      DATABASE_SCHEMA: "bench_receiver",
      WEB_CONCURRENCY: String(workers),
      PAYMENTS_WEBHOOK_SECRETS: secret,
      PAYMENTS_IP_ALLOWLIST: "127.0.0.0/8,::1/128",
      REDIS_MIN_REPLICA_ACKS: replicaAcks,
      LOG_LEVEL: "info",
    },
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`web process exited with ${child.exitCode}`);
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`, { headers: { connection: "close" } }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error("web process did not start");
    await new Promise((r) => setTimeout(r, 200));
  }
  // Each worker listens on its own schedule: give the later ones a moment after the first answers.
  await new Promise((r) => setTimeout(r, 1_000));
  return {
    port,
    cpu: async () => processTreeCpuUs(child.pid),
    stop: () =>
      new Promise((r) => {
        child.once("exit", r);
        child.kill("SIGTERM");
      }),
  };
}

/**
 * Open loop: every 2 ms a timer sends the requests that are due by then, whether or not earlier
 * ones were answered, over a pool of keep-alive connections that grows as needed. A request's
 * latency runs from when it was due (start + i / rate), so time it spent waiting for a timer or
 * a free socket counts too: no coordinated omission.
 */
function openLoop(port, rate, durationS, count, tag) {
  prepare(count, tag);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  const total = Math.round(rate * durationS);
  const latencies = [];
  let errors = 0;
  let non2xx = 0;
  let sent = 0;
  let answered = 0;
  return new Promise((resolve) => {
    const start = performance.now();
    const finish = () => {
      agent.destroy();
      latencies.sort((a, b) => a - b);
      const q = (p) => Math.round(100 * (latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN)) / 100;
      resolve({ sent: total, reqPerSec: Math.round(total / durationS), p50ms: q(0.5), p99ms: q(0.99), p999ms: q(0.999), maxms: q(1), non2xx, errors });
    };
    const fire = (i) => {
      const due = start + (1000 * i) / rate;
      const r = prepared[next++ % prepared.length];
      const req = http.request({ host: "127.0.0.1", port, path: r.path, method: "POST", headers: r.headers, agent, timeout: 10_000 }, (res) => {
        res.resume();
        res.on("end", () => {
          latencies.push(performance.now() - due);
          if (res.statusCode < 200 || res.statusCode > 299) non2xx++;
          if (++answered === total) finish();
        });
      });
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.on("error", () => {
        errors++;
        latencies.push(performance.now() - due);
        if (++answered === total) finish();
      });
      req.end(r.body);
    };
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000) + 1);
      while (sent < due) fire(sent++);
      if (sent >= total) clearInterval(timer);
    }, 2);
  });
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
  const pump0 = server.pumpCpu?.();
  const load0 = process.cpuUsage();
  const run = await load(server.port, opts, count, tag);
  const loadCpu = process.cpuUsage(load0);
  const cpu1 = await server.cpu();
  const pumpDrainMs = pump0 === undefined ? undefined : await pumpDrained();
  if (pump0 !== undefined) await server.cpu(); // reads the pump's CPU again, now that it has drained
  const total = run.requests.total;
  return {
    ...summary(run),
    serverCpuUsPerReq: Math.round((cpu1 - cpu0) / total),
    // The ingress design's pump, until it has moved every job of the phase into BullMQ (Redis's CPU counts that too).
    ...(pump0 === undefined ? {} : { pumpCpuUsPerReq: Math.round((server.pumpCpu() - pump0) / total), pumpDrainMs }),
    redisCpuUsPerReq: Math.round(((await redisCpuUs()) - redis0) / total),
    // autocannon runs in this process: its share of the two cores is part of every request.
    loadCpuUsPerReq: Math.round((loadCpu.user + loadCpu.system) / run.requests.total),
    loadavg1: loadavg()[0],
  };
}

async function measuredOpen(server, tag) {
  const [cpu0, redis0] = [await server.cpu(), await redisCpuUs()];
  const load0 = process.cpuUsage();
  const r = await openLoop(server.port, FIXED_RATE, DURATION, FIXED_RATE * DURATION + 1000, tag);
  const loadCpu = process.cpuUsage(load0);
  return {
    ...r,
    serverCpuUsPerReq: Math.round(((await server.cpu()) - cpu0) / r.sent),
    redisCpuUsPerReq: Math.round(((await redisCpuUs()) - redis0) / r.sent),
    loadCpuUsPerReq: Math.round((loadCpu.user + loadCpu.system) / r.sent),
    loadavg1: loadavg()[0],
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
const replica = process.env.BENCH_REPLICA === "1" ? await startRedisServer(["--replicaof", "127.0.0.1", String(redis.port)]) : undefined;
const { Redis } = await import("ioredis");
const redisClient = new Redis(redis.url);
while (replica && !/^slave0:.*state=online/m.test(await redisClient.info("replication"))) await new Promise((r) => setTimeout(r, 100));
/** Wait until the ingress stream of the "-pump" modes is empty and acknowledged; ms it took after the phase. */
async function pumpDrained() {
  const t0 = Date.now();
  const stream = "bench:{payments}:ingress";
  while (Date.now() - t0 < 60_000) {
    const [len, pending] = await Promise.all([redisClient.xlen(stream), redisClient.xpending(stream, "pump").then((p) => Number(p[0]))]);
    if (len === 0 && pending === 0) return Date.now() - t0;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error("the pump did not drain the ingress stream within 60 s");
}

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
      if (server.pumpCpu) await server.cpu().then(() => server.pumpCpu() !== undefined && pumpDrained());
      const phases = {};
      try {
        if (!SKIP_MAX) phases.max = await measured(server, {}, 25_000 * DURATION, `${tag}-max`);
        if (!SKIP_FIXED) phases.fixed = await measured(server, { overallRate: FIXED_RATE }, FIXED_RATE * DURATION + 1000, `${tag}-fixed`);
        if (OPEN_LOOP) phases.open = await measuredOpen(server, `${tag}-open`);
      } finally {
        await server.stop();
      }
      rounds[mode].push(phases);
    }
  }
} finally {
  redisClient.disconnect();
  await replica?.stop();
  await redis.stop();
}
const mean = (xs) => Math.round((10 * xs.reduce((a, b) => a + b, 0)) / xs.length) / 10;
const PHASES = Object.keys(rounds[MODES[0]][0]);
const results = Object.fromEntries(
  MODES.map((m) => [
    m,
    Object.fromEntries(PHASES.map((k) => [k, Object.fromEntries(Object.keys(rounds[m][0][k]).map((f) => [f, mean(rounds[m].map((r) => r[k][f]))]))])),
  ]),
);

const ratio = (a, b) => (results[a]?.max && results[b]?.max ? `${Math.round((100 * results[a].max.reqPerSec) / results[b].max.reqPerSec)}%` : "n/a");
console.log(
  JSON.stringify(
    {
      machine: `${cpus().length} x ${cpus()[0]?.model}`,
      node: process.version,
      connections: CONNECTIONS,
      durationS: DURATION,
      fixedRate: FIXED_RATE,
      rounds: ROUNDS,
      loadavg: loadavg(),
      perRound: rounds,
      mean: results,
    },
    null,
    2,
  ),
);
for (const m of MODES) {
  const r = results[m];
  const parts = [];
  if (r.max)
    parts.push(
      `max ${r.max.reqPerSec} req/s p50 ${r.max.p50ms} ms p99 ${r.max.p99ms} ms cpu/req server ${r.max.serverCpuUsPerReq} us redis ${r.max.redisCpuUsPerReq} us load tool ${r.max.loadCpuUsPerReq} us` +
        (r.max.pumpCpuUsPerReq === undefined ? "" : ` pump ${r.max.pumpCpuUsPerReq} us (drained ${r.max.pumpDrainMs} ms after)`),
    );
  if (r.fixed)
    parts.push(
      `closed loop at ${FIXED_RATE} req/s: p50 ${r.fixed.p50ms} ms p99 ${r.fixed.p99ms} ms cpu/req server ${r.fixed.serverCpuUsPerReq} us redis ${r.fixed.redisCpuUsPerReq} us`,
    );
  if (r.open)
    parts.push(
      `open loop at ${FIXED_RATE} req/s: p50 ${r.open.p50ms} ms p99 ${r.open.p99ms} ms p99.9 ${r.open.p999ms} ms max ${r.open.maxms} ms non2xx ${r.open.non2xx} errors ${r.open.errors} cpu/req server ${r.open.serverCpuUsPerReq} us redis ${r.open.redisCpuUsPerReq} us load tool ${r.open.loadCpuUsPerReq} us`,
    );
  console.log(`${m.padEnd(8)} ${parts.join(" | ")}`);
}
console.log(
  `full path / bare route throughput: ${ratio("full", "bare")} (plain queue.add / bare: ${ratio("add", "bare")}; full / bare-web: ${ratio("full", "bare-web")})`,
);
// Every mode against the bare route of the same round (alternation puts them minutes apart at most).
if (results.bare?.max)
  for (const m of MODES.filter((x) => x !== "bare" && results[x].max))
    console.log(
      `${m} / bare (max req/s): ${ratio(m, "bare")}; per round ${rounds[m].map((r, i) => `${Math.round((100 * r.max.reqPerSec) / rounds.bare[i].max.reqPerSec)}%`).join(", ")}`,
    );
if (results.full?.fixed) console.log(`full path p99 at ${FIXED_RATE} req/s: ${results.full.fixed.p99ms} ms`);
