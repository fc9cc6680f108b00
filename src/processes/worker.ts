import { buildChain } from "../chain/index.js";
import { buildJumio } from "../clients/jumio.js";
import { buildKycAdapters } from "../clients/kyc/index.js";
import { buildOnfido } from "../clients/onfido.js";
import { buildRegistrar } from "../clients/registrar.js";
import type { Config } from "../config/index.js";
import { onShutdown } from "../lifecycle/shutdown.js";
import { serveMetrics, closeServer } from "../metrics-server.js";
import { buildScreening } from "../processors/aml/screening-client.js";
import type { WorkerDeps } from "../processors/deps.js";
import { completeMinedMints } from "../processors/orders/mint.js";
import type { Processor } from "../queues/queue-module.js";
import { startWorkers, type WorkerHost } from "../queues/worker-host.js";
import { connectRedis, redisTarget } from "../redis/connection.js";
import { registerSchedulers } from "../schedulers/register.js";
import { buildClients, closeClients, type Clients } from "./clients.js";
import { QUEUE_MODULES, QUEUE_NAMES } from "./queue-modules.js";

/** Replacement processors by queue name (test fixtures and benchmarks wrap or slow the real ones). */
// biome-ignore lint/suspicious/noExplicitAny: a replacement takes whatever data its queue's schema gives.
export type ProcessorOverrides = Record<string, (deps: WorkerDeps) => Processor<any> | undefined>;

/** Start the worker side on already-built clients (used by the worker and dev processes). */
export function startWorkerSide(c: Clients, overrides?: ProcessorOverrides): { host: WorkerHost; stop: () => Promise<void> } {
  const serve = c.config.WORKER_QUEUES.length > 0 ? c.config.WORKER_QUEUES : QUEUE_NAMES;
  // Workers block on Redis; they get their own connection that reconnects forever.
  const workerRedis = connectRedis(redisTarget(c.config), "worker");
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
  const deps: WorkerDeps = {
    config: c.config,
    db: c.dbh.db,
    queues: c.queues,
    metrics: c.metrics,
    log: c.log,
    chain,
    screening: buildScreening(c.config, c.metrics.registry),
    registrar: buildRegistrar(c.config),
    onfido: buildOnfido(c.config),
    jumio: buildJumio(c.config),
    kycAdapters: buildKycAdapters(c.config, c.metrics.registry),
  };
  const host = startWorkers({
    connection: workerRedis,
    queues: c.queues,
    modules: QUEUE_MODULES,
    deps,
    processorOverrides: overrides,
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

export async function runWorkerProcess(config: Config, overrides?: ProcessorOverrides): Promise<void> {
  const c = await buildClients(config, "producer", "worker");
  // Idempotent: every worker process upserts the same scheduler ids.
  await registerSchedulers(c.queues, QUEUE_MODULES, c.config);
  const { stop } = startWorkerSide(c, overrides);
  const metricsServer = config.METRICS_PORT !== undefined ? await serveMetrics(c.metrics.registry, config.METRICS_PORT) : undefined;
  onShutdown(c.log, async () => {
    await stop();
    await closeServer(metricsServer);
    await closeClients(c);
  });
}
