import { UnrecoverableError } from "bullmq";
import { sql, type Kysely } from "kysely";
import { encodeFunctionData, type Address } from "viem";
import { z } from "zod";
import { securityTokenAbi } from "../../chain/artifacts/SecurityToken.js";
import type { Database } from "../../db/schema.js";
import { DAY_SECONDS, defineQueue } from "../../queues/queue-module.js";
import type { QueueSet } from "../../queues/queue-set.js";
import type { WorkerDeps } from "../deps.js";

/** Mint the tokens of one paid order; one job id per order (`mint-<referenceId>`). */
export const mintJobSchema = z.object({
  referenceId: z.string().min(1),
  /** When the payment that triggered the mint was received (webhook-to-effect latency). */
  receivedAt: z.iso.datetime().optional(),
});
export type MintJob = z.output<typeof mintJobSchema>;

/** The intent key of an order's mint: one transaction per order, ever. */
export const mintIntentKey = (referenceId: string) => `mint:${referenceId}`;

/**
 * `mints`: mint a paid order's tokens to the investor's wallet through the exactly-once
 * sender, then complete the order. A retry (or a second worker after a crash) finds the
 * stored transaction and only rebroadcasts it or reads its receipt. Needs a chain.
 */
export const mintsQueue = defineQueue({
  name: "mints",
  schema: mintJobSchema,
  attempts: 10,
  backoffMs: 2_000,
  keepCompletedSeconds: 7 * DAY_SECONDS,
  keepFailedSeconds: 30 * DAY_SECONDS,
  processor: ({ db, chain, metrics }: WorkerDeps) => {
    if (!chain) return undefined;
    return async ({ referenceId, receivedAt }, _job, log) => {
      const order = await db
        .selectFrom("orders")
        .innerJoin("investors", "investors.id", "orders.investor_id")
        .select(["orders.status", "orders.token_address", "orders.token_amount", "investors.wallet"])
        .where("orders.reference_id", "=", referenceId)
        .executeTakeFirst();
      if (!order) throw new UnrecoverableError(`no order ${referenceId} to mint`);
      if (order.status === "completed") return { outcome: "already_completed" };
      if (order.status !== "minting") throw new UnrecoverableError(`order ${referenceId} is ${order.status}, not ready to mint`);
      const sent = await chain.sender.send({
        intentKey: mintIntentKey(referenceId),
        to: order.token_address as Address,
        data: encodeFunctionData({ abi: securityTokenAbi, functionName: "mint", args: [order.wallet as Address, BigInt(order.token_amount)] }),
      });
      await finishMint(db, referenceId, sent.hash, sent.status);
      if (sent.status === "reverted") throw new UnrecoverableError(`mint transaction ${sent.hash} for order ${referenceId} reverted`);
      if (receivedAt) metrics.webhookToEffect.observe({ queue: "mints" }, (Date.now() - Date.parse(receivedAt)) / 1000);
      log.info({ referenceId, txHash: sent.hash, nonce: sent.nonce.toString() }, "order minted");
      return { outcome: "minted", txHash: sent.hash };
    };
  },
});

/** Queue the mint of a paid order; the job id makes it idempotent. */
export async function enqueueMint(queues: QueueSet, referenceId: string, receivedAt?: string): Promise<void> {
  const data: MintJob = { referenceId, ...(receivedAt ? { receivedAt } : {}) };
  await queues.queue(mintsQueue.name).add("mint", data, { jobId: `mint-${referenceId}` });
}

/** Record a mined mint on its order (only an order still `minting` changes). */
async function finishMint(db: Kysely<Database>, referenceId: string, hash: string, status: "confirmed" | "reverted"): Promise<void> {
  await db
    .updateTable("orders")
    .set(
      status === "confirmed"
        ? { status: "completed", mint_tx_hash: hash, completed_at: new Date(), updated_at: new Date() }
        : { status: "mint_failed", failure_reason: `mint transaction ${hash} reverted`, mint_tx_hash: hash, updated_at: new Date() },
    )
    .where("reference_id", "=", referenceId)
    .where("status", "=", "minting")
    .execute();
}

/**
 * Complete the orders whose mint is mined and recorded but whose job never got that far (its
 * worker died after broadcasting; run after the sender's rebroadcast sweep has read the
 * receipts). The interrupted job, when BullMQ hands it out again, finds the order completed.
 */
export async function completeMinedMints(db: Kysely<Database>): Promise<string[]> {
  const mined = await db
    .selectFrom("orders")
    .innerJoin("chain_transactions", (join) => join.on(sql<boolean>`chain_transactions.intent_key = 'mint:' || orders.reference_id`))
    .select(["orders.reference_id", "chain_transactions.tx_hash", "chain_transactions.status"])
    .where("orders.status", "=", "minting")
    .where("chain_transactions.status", "in", ["confirmed", "reverted"])
    .execute();
  for (const m of mined) await finishMint(db, m.reference_id, m.tx_hash!, m.status as "confirmed" | "reverted");
  return mined.map((m) => m.reference_id);
}
