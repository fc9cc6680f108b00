// One server under load, in its own process so the load generator does not share its thread.
// Modes: "bare" = a Hono route that only reads the body (the receiver's own Node-stream reader);
// "bare-web" = the same reading it with c.req.arrayBuffer() (WHATWG streams, slower);
// "add" = bare + one plain queue.add; "full-nolog" = full without the request log line (to size it); any mode + "-plain" = without write coalescing; "addonce" = bare + the receiver's enqueue (EXISTS + add, with its timeout); "full" = the real receiver (allowlist + signature + validation + idempotent enqueue + log line).
// "full[-nolog]-setnx|noop" / "full[-nolog]-ingress[-batch][-pump]": the real receiver with another enqueue
// (enqueuers.mjs); "-pump" also runs the ingress design's pump (pump.mjs) in its own process,
// whose CPU is reported apart ("pumpCpuUs").
import { fork } from "node:child_process";
import { readFileSync } from "node:fs";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
// BENCH_DIST: another build's dist directory (runner modes "<mode>@<label>", see run.mjs).
const dist = process.env.BENCH_DIST ?? new URL("../../dist", import.meta.url).pathname;
const { loadConfig } = await import(`${dist}/src/config/index.js`);
const { createLogger } = await import(`${dist}/src/log.js`);
const { createMetrics } = await import(`${dist}/src/metrics.js`);
const { QUEUE_MODULES } = await import(`${dist}/src/processes/queue-modules.js`);
const { createQueueSet } = await import(`${dist}/src/queues/queue-set.js`);
const { createRedis, waitReady } = await import(`${dist}/src/redis/connection.js`);
const { buildApp } = await import(`${dist}/src/server/app.js`);
const { webhookRoutes } = await import(`${dist}/src/server/webhooks/index.js`);
const { addOnce } = await import(`${dist}/src/server/webhooks/enqueue.js`);
const { requestView } = await import(`${dist}/src/server/webhooks/request-view.js`);
const { enqueuer } = await import("./enqueuers.mjs");

const [modeArg, redisUrl, secret] = process.argv.slice(2);
// "<mode>-plain": the same, with the producer connection's write coalescing off (before/after runs).
const plain = modeArg.endsWith("-plain");
const stem = plain ? modeArg.slice(0, -"-plain".length) : modeArg;
// "full-nolog-ingress-pump" -> mode "full-nolog", enqueue "ingress", pump on.
const variant = /^(full(?:-nolog)?)-(setnx|ingress-batch|ingress|noop)(-pump)?$/.exec(stem);
const mode = variant ? variant[1] : stem;
const redis = createRedis(redisUrl, "producer", {}, { coalesceWrites: !plain });
await waitReady(redis);
const queues = createQueueSet(redis, "bench", QUEUE_MODULES);
const metrics = createMetrics();
// The receiver's one JSON line per request is part of the full path; stdout goes to /dev/null.
// "full-nolog" (sizing only, never a deployable setting): the same at level warn, no line per accepted request.
const log = createLogger(mode === "full-nolog" ? "warn" : "info", { process: "bench" });

let app;
if (mode === "full" || mode === "full-nolog") {
  const config = loadConfig({ PAYMENTS_WEBHOOK_SECRETS: secret, PAYMENTS_IP_ALLOWLIST: "127.0.0.0/8,::1/128", LOG_LEVEL: "info" });
  const enqueue = variant ? enqueuer(variant[2], redis) : undefined;
  app = buildApp({ redis, db: null, queues, metrics, log, mounts: [{ path: "/webhooks", app: webhookRoutes({ config, queues, metrics, log, enqueue }) }] });
} else {
  app = new Hono();
  let n = 0;
  app.post("/webhooks/payments", async (c) => {
    const body = mode === "bare-web" ? await c.req.arrayBuffer() : await requestView(c).readBody(256 * 1024);
    if (mode === "addonce")
      await addOnce(
        queues.queue("payments"),
        "payment",
        { eventId: String(++n), receivedAt: new Date().toISOString(), payload: { size: body.byteLength } },
        `bench-${process.pid}-${n}`,
        2000,
      );
    if (mode === "add")
      await queues
        .queue("payments")
        .add(
          "payment",
          { eventId: String(++n), receivedAt: new Date().toISOString(), payload: { size: body.byteLength } },
          { jobId: `bench-${process.pid}-${n}` },
        );
    return c.json({ ok: true }, 202);
  });
}

let pump;
if (variant?.[3]) {
  pump = fork(new URL("./pump.mjs", import.meta.url), [redisUrl, "payments"], { stdio: ["ignore", "ignore", "inherit", "ipc"] });
  await new Promise((resolve, reject) => {
    pump.once("message", resolve);
    pump.once("exit", (code) => reject(new Error(`pump exited with ${code}`)));
  });
}
/** utime + stime of another process, µs (100 Hz ticks). */
const cpuOfPid = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return ((Number(f[11]) + Number(f[12])) * 1e6) / 100;
};

const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info) => process.send({ port: info.port }));
process.on("message", async (m) => {
  // CPU time so far (user + system, microseconds): the runner turns it into CPU per request.
  if (m === "cpu") process.send({ cpuUs: (({ user, system }) => user + system)(process.cpuUsage()), pumpCpuUs: pump ? cpuOfPid(pump.pid) : undefined });
  if (m === "stop") {
    if (pump)
      await new Promise((r) => {
        pump.once("exit", r);
        pump.send("stop");
      });
    server.close();
    await queues.close();
    redis.disconnect();
    process.exit(0);
  }
});
