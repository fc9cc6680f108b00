import type { Cluster, Redis } from "ioredis";
import type { Kysely } from "kysely";
import type { Registry } from "prom-client";
import type { Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { FireblocksApi } from "../clients/fireblocks-api.js";
import { DEFAULT_FIREBLOCKS_SIGNER_ASSET_ID, DEFAULT_MIN_SIGNER_BALANCE_WEI, DEV_MAX_FEE_PER_GAS } from "../config/chain.js";
import type { Config } from "../config/index.js";
import type { Database } from "../db/schema.js";
import type { Logger } from "../log.js";
import { RedisLease } from "../redis/lease.js";
import { createChainClients, type ChainClients } from "./clients.js";
import type { IntentMonitor } from "./finality.js";
import { FireblocksIntentMonitor } from "./fireblocks-monitor.js";
import { FireblocksSigner } from "./fireblocks-signer.js";
import { chainMetrics } from "./metrics.js";
import { ChainMonitor } from "./monitor.js";
import { TxSender, type ChainHooks } from "./tx-sender.js";

/** What processors get to act on the chain: the clients, the exactly-once sender and the monitor that watches what it sent. */
export interface ChainAccess {
  clients: ChainClients;
  sender: TxSender;
  /** Watches what the sender sent until final: the ChainMonitor (local keys) or Fireblocks' (SIGNER_BACKEND=fireblocks). */
  monitor: IntentMonitor;
  /** The Fireblocks signer under SIGNER_BACKEND=fireblocks (its webhooks move intents too). */
  custody?: FireblocksSigner;
  chainId: number;
}

export interface BuildChainOptions {
  registry?: Registry;
  /** Holds the monitor's lease (one monitoring process per chain); unset = always monitor. */
  redis?: Redis | Cluster;
  leasePrefix?: string;
  hooks?: ChainHooks;
  /** The Fireblocks API (required with SIGNER_BACKEND=fireblocks). */
  fireblocks?: FireblocksApi;
}

/** Build chain access from config; undefined when no RPC_URL is configured. */
export function buildChain(config: Config, db: Kysely<Database>, log: Logger, opts: BuildChainOptions = {}): ChainAccess | undefined {
  if (!config.RPC_URL) return undefined;
  // Config already refused RPC_URL without a key, and fireblocks without its settings (chainConfigProblems).
  const keys = config.SIGNER_PRIVATE_KEY as Hex[];
  const clients = createChainClients({
    rpcUrl: config.RPC_URL,
    chainId: config.CHAIN_ID,
    // The wallet client is for deployments and tests; under Fireblocks no local key signs anything.
    privateKey: keys[0] ?? generatePrivateKey(),
    pollingIntervalMs: config.CHAIN_POLL_INTERVAL_MS,
  });
  const metrics = opts.registry ? chainMetrics(opts.registry, config.SIGNER_MIN_BALANCE_WEI ?? DEFAULT_MIN_SIGNER_BALANCE_WEI) : undefined;
  // A holder that dies loses the lease after a few polls; another worker process takes over.
  const lease = opts.redis
    ? new RedisLease(opts.redis, `${opts.leasePrefix ?? "hookrail"}:chain-monitor:${config.CHAIN_ID}`, Math.max(5_000, 5 * config.CHAIN_POLL_INTERVAL_MS))
    : undefined;
  const custody =
    config.SIGNER_BACKEND === "fireblocks"
      ? new FireblocksSigner({
          db,
          api: requireFireblocks(opts.fireblocks),
          log,
          vaultId: config.FIREBLOCKS_SIGNER_VAULT_ID!,
          address: config.FIREBLOCKS_SIGNER_ADDRESS!,
          assetId: config.FIREBLOCKS_SIGNER_ASSET_ID ?? DEFAULT_FIREBLOCKS_SIGNER_ASSET_ID,
          externalIdPrefix: `${config.QUEUE_PREFIX}:${config.CHAIN_ID}:`,
          ...(config.CHAIN_MAX_FEE_PER_GAS !== undefined ? { maxFeePerGas: config.CHAIN_MAX_FEE_PER_GAS } : {}),
          ...(opts.hooks ? { hooks: opts.hooks } : {}),
        })
      : undefined;
  const sender = new TxSender({
    db,
    publicClient: clients.publicClient,
    accounts: keys.map((k) => privateKeyToAccount(k)),
    ...(custody ? { custody } : {}),
    chainId: config.CHAIN_ID,
    log,
    maxFeePerGas: config.CHAIN_MAX_FEE_PER_GAS ?? DEV_MAX_FEE_PER_GAS,
    receiptTimeoutMs: config.CHAIN_RECEIPT_TIMEOUT_MS,
    pollingIntervalMs: config.CHAIN_POLL_INTERVAL_MS,
  });
  if (custody) {
    const monitor = new FireblocksIntentMonitor({
      db,
      publicClient: clients.publicClient,
      signer: custody,
      log,
      chainId: config.CHAIN_ID,
      confirmations: config.CHAIN_CONFIRMATIONS,
      pollingIntervalMs: config.CHAIN_POLL_INTERVAL_MS,
      statusPollMs: config.FIREBLOCKS_STATUS_POLL_MS,
      ...(metrics ? { metrics } : {}),
      ...(lease ? { lease } : {}),
    });
    return { clients, sender, monitor, custody, chainId: config.CHAIN_ID };
  }
  const monitor = new ChainMonitor({
    db,
    publicClient: clients.publicClient,
    sender,
    log,
    confirmations: config.CHAIN_CONFIRMATIONS,
    replaceAfterBlocks: config.CHAIN_REPLACE_AFTER_BLOCKS,
    pollingIntervalMs: config.CHAIN_POLL_INTERVAL_MS,
    ...(metrics ? { metrics } : {}),
    ...(lease ? { lease } : {}),
    ...(opts.hooks ? { hooks: opts.hooks } : {}),
  });
  return { clients, sender, monitor, chainId: config.CHAIN_ID };
}

function requireFireblocks(api: FireblocksApi | undefined): FireblocksApi {
  if (!api) throw new Error("SIGNER_BACKEND=fireblocks needs the Fireblocks API (FIREBLOCKS_API_URL, FIREBLOCKS_API_KEY, FIREBLOCKS_API_SECRET_KEY)");
  return api;
}
