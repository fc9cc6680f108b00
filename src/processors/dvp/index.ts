import type { Cluster, Redis } from "ioredis";
import type { Kysely } from "kysely";
import type { Address } from "viem";
import type { ChainAccess } from "../../chain/index.js";
import type { Config } from "../../config/index.js";
import type { Database } from "../../db/schema.js";
import type { Logger } from "../../log.js";
import type { QueueSet } from "../../queues/queue-set.js";
import { RedisLease } from "../../redis/lease.js";
import { AllowanceWatcher } from "./allowance-watcher.js";
import { DVP_INTENT_PREFIX, dvpFinality } from "./settlement.js";

export { dvpSettlementsQueue, enqueueSettlement } from "./settlements-queue.js";

export interface DvpRail {
  watcher: AllowanceWatcher;
  stop(): Promise<void>;
}

/**
 * The stablecoin rail on a worker: the monitor completes settlements (`dvp:` intents) and the
 * allowance watcher runs, one process at a time (a Redis lease, like the monitor's). Undefined
 * when the rail is not configured (no chain, DVP_CONTRACT or STABLECOIN_TOKENS). Call before
 * the monitor starts.
 */
export function startDvpRail(deps: {
  config: Config;
  chain: ChainAccess | undefined;
  db: Kysely<Database>;
  queues: QueueSet;
  log: Logger;
  redis?: Redis | Cluster;
}): DvpRail | undefined {
  const { config, chain } = deps;
  if (!chain || !config.DVP_CONTRACT || config.STABLECOIN_TOKENS.length === 0) return undefined;
  const dvp = config.DVP_CONTRACT as Address;
  chain.monitor.onFinal(DVP_INTENT_PREFIX, dvpFinality(chain.clients.publicClient, dvp));
  const watcher = new AllowanceWatcher({
    db: deps.db,
    publicClient: chain.clients.publicClient,
    queues: deps.queues,
    log: deps.log,
    chainId: chain.chainId,
    dvp,
    stablecoins: config.STABLECOIN_TOKENS as Address[],
    confirmations: config.CHAIN_CONFIRMATIONS,
    pollingIntervalMs: config.DVP_WATCH_INTERVAL_MS,
    logChunkBlocks: config.DVP_LOG_CHUNK_BLOCKS,
    ...(config.DVP_START_BLOCK !== undefined ? { startBlock: config.DVP_START_BLOCK } : {}),
    ...(deps.redis
      ? { lease: new RedisLease(deps.redis, `${config.QUEUE_PREFIX}:dvp-watcher:${chain.chainId}`, Math.max(5_000, 5 * config.DVP_WATCH_INTERVAL_MS)) }
      : {}),
  });
  watcher.start();
  return { watcher, stop: () => watcher.stop() };
}
