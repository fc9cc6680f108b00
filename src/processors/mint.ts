import { UnrecoverableError, type Job } from "bullmq";
import type { Kysely } from "kysely";
import { encodeFunctionData, type Address } from "viem";
import { securityTokenAbi } from "../chain/artifacts/SecurityToken.js";
import type { TxSender } from "../chain/tx-sender.js";
import type { Database } from "../db/schema.js";
import type { Metrics } from "../metrics.js";
import type { Processor } from "./types.js";

export interface MintJob {
  referenceId: string;
  receivedAt?: string;
}

export interface MintDeps {
  db: Kysely<Database>;
  sender: TxSender;
  metrics?: Metrics;
}

/** The intent key of an order's mint: one transaction per order, ever. */
export const mintIntentKey = (referenceId: string) => `mint:${referenceId}`;

/**
 * Mint a paid order's tokens to the investor's wallet through the exactly-once sender, then
 * complete the order. A retry (or a second worker after a crash) finds the stored
 * transaction and only rebroadcasts it or reads its receipt.
 */
export function mintProcessor(deps: MintDeps): Processor<MintJob> {
  return async (job: Job<MintJob>, log) => {
    const { referenceId } = job.data;
    const order = await deps.db
      .selectFrom("orders")
      .innerJoin("investors", "investors.id", "orders.investor_id")
      .select(["orders.status", "orders.token_address", "orders.token_amount", "investors.wallet"])
      .where("orders.reference_id", "=", referenceId)
      .executeTakeFirst();
    if (!order) throw new UnrecoverableError(`no order ${referenceId} to mint`);
    if (order.status === "completed") return { outcome: "already_completed" };
    if (order.status !== "minting") throw new UnrecoverableError(`order ${referenceId} is ${order.status}, not ready to mint`);
    const sent = await deps.sender.send({
      intentKey: mintIntentKey(referenceId),
      to: order.token_address as Address,
      data: encodeFunctionData({ abi: securityTokenAbi, functionName: "mint", args: [order.wallet as Address, BigInt(order.token_amount)] }),
    });
    if (sent.status === "reverted") {
      await deps.db
        .updateTable("orders")
        .set({ status: "mint_failed", failure_reason: `mint transaction ${sent.hash} reverted`, mint_tx_hash: sent.hash, updated_at: new Date() })
        .where("reference_id", "=", referenceId)
        .where("status", "=", "minting")
        .execute();
      throw new UnrecoverableError(`mint transaction ${sent.hash} for order ${referenceId} reverted`);
    }
    await deps.db
      .updateTable("orders")
      .set({ status: "completed", mint_tx_hash: sent.hash, completed_at: new Date(), updated_at: new Date() })
      .where("reference_id", "=", referenceId)
      .where("status", "=", "minting")
      .execute();
    if (job.data.receivedAt) deps.metrics?.webhookToEffect.observe({ queue: "mints" }, (Date.now() - Date.parse(job.data.receivedAt)) / 1000);
    log.info({ referenceId, txHash: sent.hash, nonce: sent.nonce.toString() }, "order minted");
    return { outcome: "minted", txHash: sent.hash };
  };
}
