import { buildChain } from "../chain/index.js";
import type { Config } from "../config/index.js";
import { onShutdown } from "../lifecycle/shutdown.js";
import { buildProcessors, type ProcessorDeps } from "../processors/index.js";
import { completeMinedMints } from "../processors/mint.js";
import type { Processor } from "../processors/types.js";
import { QUEUE_NAMES, type QueueName } from "../queues/names.js";
import { startWorkers, type WorkerHost } from "../queues/worker-host.js";
import { createRedis } from "../redis/connection.js";
import { buildRegistrar } from "../providers/registrar.js";
import { buildScreening } from "../providers/screening.js";
import { registerSchedulers } from "../schedulers/register.js";
import { closeServer, serveMetrics } from "../server/metrics-server.js";
import { buildClients, closeClients, type Clients } from "./clients.js";

export type ProcessorFactory = (deps: ProcessorDeps) => Partial<Record<QueueName, Processor>>;

/** Start the worker side on already-built clients (used by the worker and dev processes). */
export function startWorkerSide(c: Clients, factory: ProcessorFactory = buildProcessors): { host: WorkerHost; stop: () => Promise<void> } {
  const serve = c.config.WORKER_QUEUES.length > 0 ? c.config.WORKER_QUEUES : QUEUE_NAMES;
  // Workers block on Redis; they get their own connection that reconnects forever.
  const workerRedis = createRedis(c.config.REDIS_URL, "worker");
  workerRedis.on("error", (err) => c.log.warn({ err: err.message }, "worker redis connection error"));
  const chain = buildChain(c.config, c.dbh.db, c.log);
  // A transaction signed by a process that died before broadcasting would hold up every later
  // nonce; one mined after its process died completes its order now rather than after the
  // interrupted job's lock expires.
  chain?.sender
    .rebroadcastPending()
    .then(() => completeMinedMints(c.dbh.db))
    .then((done) => done.length && c.log.info({ orders: done }, "completed orders whose mint was mined by a process that died"))
    .catch((err: Error) => c.log.warn({ err: err.message }, "rebroadcast of pending transactions failed"));
  const host = startWorkers({
    connection: workerRedis,
    prefix: c.config.QUEUE_PREFIX,
    queues: c.queues,
    processors: factory({ config: c.config, db: c.dbh.db, queues: c.queues, metrics: c.metrics, log: c.log, chain, screening: buildScreening(c.config, c.metrics.registry), registrar: buildRegistrar(c.config) }),
    limiters: { "aml-screening": { max: c.config.AML_RATE_LIMIT_PER_SECOND, duration: 1_000 } },
    serve,
    concurrency: c.config.WORKER_CONCURRENCY,
    lockDurationMs: c.config.WORKER_LOCK_DURATION_MS,
    log: c.log,
    onFinished: (queue, outcome, job, ms) => {
      c.metrics.jobsFinished.inc({ queue, outcome });
      c.metrics.jobDuration.observe({ queue, outcome }, ms / 1000);
      // Only first attempts: a retry's wait is its backoff, which says nothing about capacity.
      if (job.attemptsMade === 0 && job.processedOn) {
        const readyAt = job.timestamp + (job.opts.delay ?? 0);
        c.metrics.jobWait.observe({ queue }, Math.max(0, job.processedOn - readyAt) / 1000);
      }
    },
  });
  c.log.info({ queues: host.workers.map((w) => w.name), concurrency: c.config.WORKER_CONCURRENCY }, "worker started");
  return {
    host,
    stop: async () => {
      await host.close(c.config.SHUTDOWN_TIMEOUT_MS);
      workerRedis.disconnect();
    },
  };
}

export async function runWorkerProcess(config: Config, factory?: ProcessorFactory): Promise<void> {
  const c = await buildClients(config, "producer", "worker");
  // Idempotent: every worker process upserts the same scheduler ids.
  await registerSchedulers(c.queues, c.config);
  const { stop } = startWorkerSide(c, factory);
  const metricsServer = config.METRICS_PORT !== undefined ? await serveMetrics(c.metrics.registry, config.METRICS_PORT) : undefined;
  onShutdown(c.log, async () => {
    await stop();
    await closeServer(metricsServer);
    await closeClients(c);
  });
}
