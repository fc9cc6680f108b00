import { buildChain } from "../chain/index.js";
import { buildFireblocksApi } from "../clients/fireblocks-api.js";
import { buildJumio } from "../clients/jumio.js";
import { buildKycAdapters } from "../clients/kyc/index.js";
import { buildOnfido } from "../clients/onfido.js";
import { buildRegistrar } from "../clients/registrar.js";
import { buildSepaBank } from "../clients/sepa-bank.js";
import type { Config } from "../config/index.js";
import { onShutdown } from "../lifecycle/shutdown.js";
import { serveMetrics, closeServer } from "../metrics-server.js";
import { buildScreening } from "../processors/aml/screening-client.js";
import type { WorkerDeps } from "../processors/deps.js";
import type { ChainHooks } from "../chain/tx-sender.js";
import { startDvpRail } from "../processors/dvp/index.js";
import { mintFinality } from "../processors/orders/mint.js";
import type { MintBatcherHooks } from "../processors/orders/mint-batcher.js";
import type { Processor } from "../queues/queue-module.js";
import { startWorkers, type WorkerHost } from "../queues/worker-host.js";
import { connectRedis, redisTarget } from "../redis/connection.js";
import { registerSchedulers } from "../schedulers/register.js";
import { buildClients, closeClients, type Clients } from "./clients.js";
import { QUEUE_MODULES, QUEUE_NAMES } from "./queue-modules.js";

/** Replacement processors by queue name (test fixtures and benchmarks wrap or slow the real ones). */
// biome-ignore lint/suspicious/noExplicitAny: a replacement takes whatever data its queue's schema gives.
export type ProcessorOverrides = Record<string, (deps: WorkerDeps) => Processor<any> | undefined>;

/** Test fixtures only: points where a test kills the process. */
export interface WorkerHooks {
  chain?: ChainHooks;
  mintBatcher?: MintBatcherHooks;
}

/** Start the worker side on already-built clients (used by the worker and dev processes). */
export function startWorkerSide(c: Clients, overrides?: ProcessorOverrides, hooks: WorkerHooks = {}): { host: WorkerHost; stop: () => Promise<void> } {
  const serve = c.config.WORKER_QUEUES.length > 0 ? c.config.WORKER_QUEUES : QUEUE_NAMES;
  // Workers block on Redis; they get their own connection that reconnects forever.
  const workerRedis = connectRedis(redisTarget(c.config), "worker");
  workerRedis.on("error", (err) => c.log.warn({ err: err.message }, "worker redis connection error"));
  const fireblocks = buildFireblocksApi(c.config, c.metrics.registry);
  const chain = buildChain(c.config, c.dbh.db, c.log, {
    registry: c.metrics.registry,
    redis: c.redis,
    leasePrefix: c.config.QUEUE_PREFIX,
    ...(hooks.chain ? { hooks: hooks.chain } : {}),
    ...(fireblocks ? { fireblocks } : {}),
  });
  // Every worker process runs a monitor; the Redis lease lets one of them watch the chain at a
  // time (the others take over within seconds when it dies). It finishes what any process
  // sent: receipts, confirmations, reorgs, replacements, rebroadcasts (or, under Fireblocks, the
  // statuses its webhooks and lookups bring).
  if (chain) chain.monitor.onFinal("mint", mintFinality(c.metrics));
  const dvp = startDvpRail({ config: c.config, chain, db: c.dbh.db, queues: c.queues, log: c.log, redis: c.redis });
  chain?.monitor.start();
  const onfido = buildOnfido(c.config);
  const jumio = buildJumio(c.config);
  const deps: WorkerDeps = {
    config: c.config,
    db: c.dbh.db,
    queues: c.queues,
    metrics: c.metrics,
    log: c.log,
    chain,
    screening: buildScreening(c.config, c.metrics.registry),
    registrar: buildRegistrar(c.config),
    sepaBank: buildSepaBank(c.config),
    onfido,
    jumio,
    kycAdapters: buildKycAdapters(c.config, c.metrics.registry, { onfido, jumio }),
    fireblocks,
    ...(hooks.mintBatcher ? { hooks: { mintBatcher: hooks.mintBatcher } } : {}),
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
      await dvp?.stop();
      await chain?.monitor.stop();
      workerRedis.disconnect();
    },
  };
}

export async function runWorkerProcess(config: Config, overrides?: ProcessorOverrides, hooks?: WorkerHooks): Promise<void> {
  const c = await buildClients(config, "producer", "worker");
  // Idempotent: every worker process upserts the same scheduler ids.
  await registerSchedulers(c.queues, QUEUE_MODULES, c.config);
  const { stop } = startWorkerSide(c, overrides, hooks);
  const metricsServer = config.METRICS_PORT !== undefined ? await serveMetrics(c.metrics.registry, config.METRICS_PORT) : undefined;
  onShutdown(c.log, async () => {
    await stop();
    await closeServer(metricsServer);
    await closeClients(c);
  });
}
