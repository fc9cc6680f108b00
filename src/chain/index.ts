import type { Cluster, Redis } from "ioredis";
import type { Kysely } from "kysely";
import type { Registry } from "prom-client";
import type { Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { DEFAULT_MIN_SIGNER_BALANCE_WEI, DEV_MAX_FEE_PER_GAS } from "../config/chain.js";
import type { Config } from "../config/index.js";
import type { Database } from "../db/schema.js";
import type { Logger } from "../log.js";
import { RedisLease } from "../redis/lease.js";
import { createChainClients, type ChainClients } from "./clients.js";
import { chainMetrics } from "./metrics.js";
import { ChainMonitor } from "./monitor.js";
import { TxSender, type ChainHooks } from "./tx-sender.js";

/** What processors get to act on the chain: the clients, the exactly-once sender and the monitor that watches what it sent. */
export interface ChainAccess {
  clients: ChainClients;
  sender: TxSender;
  monitor: ChainMonitor;
  chainId: number;
}

export interface BuildChainOptions {
  registry?: Registry;
  /** Holds the monitor's lease (one monitoring process per chain); unset = always monitor. */
  redis?: Redis | Cluster;
  leasePrefix?: string;
  hooks?: ChainHooks;
}

/** Build chain access from config; undefined when no RPC_URL is configured. */
export function buildChain(config: Config, db: Kysely<Database>, log: Logger, opts: BuildChainOptions = {}): ChainAccess | undefined {
  if (!config.RPC_URL) return undefined;
  // Config already refused RPC_URL without a key (chainConfigProblems).
  const keys = config.SIGNER_PRIVATE_KEY as Hex[];
  const clients = createChainClients({
    rpcUrl: config.RPC_URL,
    chainId: config.CHAIN_ID,
    privateKey: keys[0]!,
    pollingIntervalMs: config.CHAIN_POLL_INTERVAL_MS,
  });
  const sender = new TxSender({
    db,
    publicClient: clients.publicClient,
    accounts: keys.map((k) => privateKeyToAccount(k)),
    chainId: config.CHAIN_ID,
    log,
    maxFeePerGas: config.CHAIN_MAX_FEE_PER_GAS ?? DEV_MAX_FEE_PER_GAS,
    receiptTimeoutMs: config.CHAIN_RECEIPT_TIMEOUT_MS,
    pollingIntervalMs: config.CHAIN_POLL_INTERVAL_MS,
  });
  const monitor = new ChainMonitor({
    db,
    publicClient: clients.publicClient,
    sender,
    log,
    confirmations: config.CHAIN_CONFIRMATIONS,
    replaceAfterBlocks: config.CHAIN_REPLACE_AFTER_BLOCKS,
    pollingIntervalMs: config.CHAIN_POLL_INTERVAL_MS,
    ...(opts.registry ? { metrics: chainMetrics(opts.registry, config.SIGNER_MIN_BALANCE_WEI ?? DEFAULT_MIN_SIGNER_BALANCE_WEI) } : {}),
    // A holder that dies loses the lease after a few polls; another worker process takes over.
    ...(opts.redis
      ? {
          lease: new RedisLease(
            opts.redis,
            `${opts.leasePrefix ?? "hookrail"}:chain-monitor:${config.CHAIN_ID}`,
            Math.max(5_000, 5 * config.CHAIN_POLL_INTERVAL_MS),
          ),
        }
      : {}),
    ...(opts.hooks ? { hooks: opts.hooks } : {}),
  });
  return { clients, sender, monitor, chainId: config.CHAIN_ID };
}
