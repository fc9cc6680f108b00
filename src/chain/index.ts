import type { Kysely } from "kysely";
import type { Hex } from "viem";
import type { Config } from "../config/index.js";
import type { Database } from "../db/schema.js";
import type { Logger } from "../log.js";
import { createChainClients, type ChainClients } from "./clients.js";
import { TxSender } from "./tx-sender.js";

/** What processors get to act on the chain: the clients and the exactly-once sender. */
export interface ChainAccess {
  clients: ChainClients;
  sender: TxSender;
  chainId: number;
}

export class ChainConfigError extends Error {
  override name = "ChainConfigError";
}

/** Build chain access from config; undefined when no RPC_URL is configured. */
export function buildChain(config: Config, db: Kysely<Database>, log: Logger): ChainAccess | undefined {
  if (!config.RPC_URL) return undefined;
  if (!config.SIGNER_PRIVATE_KEY) throw new ChainConfigError("SIGNER_PRIVATE_KEY is required when RPC_URL is set");
  const clients = createChainClients({
    rpcUrl: config.RPC_URL,
    chainId: config.CHAIN_ID,
    privateKey: config.SIGNER_PRIVATE_KEY as Hex,
    pollingIntervalMs: config.CHAIN_POLL_INTERVAL_MS,
  });
  const sender = new TxSender({
    db,
    publicClient: clients.publicClient,
    account: clients.account,
    chainId: config.CHAIN_ID,
    log,
    receiptTimeoutMs: config.CHAIN_RECEIPT_TIMEOUT_MS,
    pollingIntervalMs: config.CHAIN_POLL_INTERVAL_MS,
  });
  return { clients, sender, chainId: config.CHAIN_ID };
}
