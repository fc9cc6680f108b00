import cluster, { type Worker } from "node:cluster";
import { AggregatorRegistry } from "prom-client";
import type { Config } from "../config/index.js";
import { HARD_EXIT_MS, onShutdown } from "../lifecycle/shutdown.js";
import { createLogger } from "../log.js";
import { buildClients, closeClients } from "./clients.js";
import { startWebSide } from "./web.js";

/*
 * WEB_CONCURRENCY > 1: the web process is a node:cluster primary that forks that many HTTP
 * workers on one port (they accept from one shared socket; see SCHED_NONE below). The
 * primary serves nothing and holds no clients; each worker builds its own (its own Redis
 * connection, database pool and metrics registry) and serves the whole app.
 *
 * /metrics, on whichever worker a scrape lands: the worker asks the primary over IPC, the
 * primary collects every worker's registry with prom-client's AggregatorRegistry (counters
 * and histograms summed, the queue-depth gauge taken once) and answers the text. So a scrape
 * sees the whole process, never one worker's share.
 */

const METRICS_REQUEST = "hookrail:metrics-request";
const METRICS_REPLY = "hookrail:metrics-reply";

interface MetricsRequest {
  type: typeof METRICS_REQUEST;
  id: number;
}
interface MetricsReply {
  type: typeof METRICS_REPLY;
  id: number;
  text?: string;
  error?: string;
}

/** A worker that dies this soon after its fork is restarted after a pause, not at once (no crash loop at full speed). */
const RESTART_PAUSE_MS = 1_000;

export async function runWebProcess(config: Config): Promise<void> {
  if (config.WEB_CONCURRENCY === 1 && !cluster.isWorker) return runWebWorker(config);
  if (cluster.isPrimary) return runPrimary(config);
  return runWebWorker(config);
}

async function runWebWorker(config: Config): Promise<void> {
  const c = await buildClients(config, "producer", "web");
  let metricsText: (() => Promise<string>) | undefined;
  if (cluster.isWorker) {
    // Answers the primary's collection requests from this worker's registry.
    new AggregatorRegistry();
    AggregatorRegistry.setRegistries([c.metrics.registry]);
    metricsText = askPrimaryForMetrics;
  }
  const web = await startWebSide(c, { metricsText });
  onShutdown(c.log, async () => {
    await web.stop();
    await closeClients(c);
  });
}

let nextRequest = 0;
const waiting = new Map<number, { resolve: (text: string) => void; reject: (err: Error) => void }>();

function askPrimaryForMetrics(): Promise<string> {
  if (waiting.size === 0) process.on("message", onReply);
  const id = nextRequest++;
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => settle(id, undefined, "the primary did not answer within 6 s"), 6_000);
    waiting.set(id, {
      resolve: (t) => {
        clearTimeout(timer);
        resolve(t);
      },
      reject: (e) => {
        clearTimeout(timer);
        reject(e);
      },
    });
    process.send!({ type: METRICS_REQUEST, id } satisfies MetricsRequest);
  });
}

function onReply(message: unknown): void {
  const m = message as Partial<MetricsReply>;
  if (m?.type === METRICS_REPLY && typeof m.id === "number") settle(m.id, m.text, m.error);
}

function settle(id: number, text: string | undefined, error: string | undefined): void {
  const w = waiting.get(id);
  if (!w) return;
  waiting.delete(id);
  if (waiting.size === 0) process.off("message", onReply);
  if (error !== undefined || text === undefined) w.reject(new Error(error ?? "no metrics"));
  else w.resolve(text);
}

async function runPrimary(config: Config): Promise<void> {
  const log = createLogger(config.LOG_LEVEL, { process: "web-primary" });
  const aggregator = new AggregatorRegistry();
  let stopping = false;
  const forkedAt = new Map<Worker, number>();
  const listened = new Set<Worker>();
  cluster.on("listening", (w) => listened.add(w));

  const fork = () => {
    const w = cluster.fork();
    forkedAt.set(w, Date.now());
    w.on("message", (message: unknown) => {
      const m = message as Partial<MetricsRequest>;
      if (m?.type !== METRICS_REQUEST || typeof m.id !== "number") return;
      const id = m.id;
      aggregator.clusterMetrics().then(
        (text) => w.isConnected() && w.send({ type: METRICS_REPLY, id, text } satisfies MetricsReply),
        (err: Error) => w.isConnected() && w.send({ type: METRICS_REPLY, id, error: err.message } satisfies MetricsReply),
      );
    });
  };

  cluster.on("exit", (w, code, signal) => {
    const lived = Date.now() - (forkedAt.get(w) ?? 0);
    forkedAt.delete(w);
    const served = listened.delete(w);
    // Exit 0 is a worker that shut down cleanly (a signal sent to the whole process group).
    if (stopping || code === 0) return;
    if (!served) {
      // It never listened: a start-up failure (bad Redis, evicting policy) that a new worker
      // would repeat. The worker printed why; stop the others and exit, as one process would.
      stopping = true;
      log.fatal({ workerPid: w.process.pid, code }, "a web worker could not start; stopping");
      for (const other of Object.values(cluster.workers ?? {})) other?.process.kill("SIGTERM");
      process.exitCode = 1;
      setTimeout(() => process.exit(1), 5_000);
      const exitWhenAlone = () => Object.keys(cluster.workers ?? {}).length === 0 && process.exit(1);
      cluster.on("exit", exitWhenAlone);
      exitWhenAlone();
      return;
    }
    log.error({ workerPid: w.process.pid, code, signal }, "web worker died; starting a new one");
    setTimeout(() => !stopping && fork(), lived < RESTART_PAUSE_MS * 5 ? RESTART_PAUSE_MS : 0);
  });

  // Workers accept from the shared socket themselves (SCHED_NONE) rather than being handed
  // each connection by the primary (round robin). With round robin the primary holds a queue
  // of accepted connections, handed over one IPC round trip at a time, and closes that queue
  // when the last worker stops listening: at SIGTERM under load most of a burst was reset
  // (18 of 30 in test/web-cluster.test.ts). With SCHED_NONE a connection is either accepted
  // by a worker, which then answers it, or still in the kernel's backlog, as with one process.
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  for (let i = 0; i < config.WEB_CONCURRENCY; i++) fork();
  log.info({ workers: config.WEB_CONCURRENCY }, "web primary started");

  onShutdown(log, async () => {
    stopping = true;
    // Each worker stops accepting, finishes its requests in flight, closes its clients and
    // exits 0; its own watchdog exits it within HARD_EXIT_MS, as ours does for this process.
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    const exits = workers.map((w) => new Promise<void>((resolve) => (w.isDead() ? resolve() : w.once("exit", () => resolve()))));
    for (const w of workers) w.process.kill("SIGTERM");
    await Promise.race([Promise.all(exits), new Promise((r) => setTimeout(r, HARD_EXIT_MS - 1_000).unref())]);
  });
}
