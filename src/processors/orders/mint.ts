import { UnrecoverableError } from "bullmq";
import { sql, type Transaction } from "kysely";
import type { Address } from "viem";
import { z } from "zod";
import { custodyFailure, type FinalityHandler } from "../../chain/finality.js";
import type { IntentRow } from "../../chain/tx-sender.js";
import type { Database } from "../../db/schema.js";
import type { Metrics } from "../../metrics.js";
import { addOrRerun } from "../../queues/add-or-rerun.js";
import { circuitCall } from "../../queues/provider-call.js";
import { DAY_SECONDS, defineQueue } from "../../queues/queue-module.js";
import type { QueueSet } from "../../queues/queue-set.js";
import type { WorkerDeps } from "../deps.js";
import { MintBatcher, resumeIntent } from "./mint-batcher.js";

export { mintIntentKey } from "./mint-batcher.js";

/** Mint the tokens of one paid order; job id `mint-<referenceId>` (`mint-<referenceId>-retry-<n>` for an operator's n-th retry). */
export const mintJobSchema = z.object({
  referenceId: z.string().min(1),
  /** When the payment that triggered the mint was received (webhook-to-effect latency). */
  receivedAt: z.iso.datetime().optional(),
});
export type MintJob = z.output<typeof mintJobSchema>;

/**
 * `mints`: put a paid order's tokens on chain through the exactly-once sender, batched with
 * the token's other due orders when the token has `batchMint`. The job ends once the order's
 * transaction is signed and broadcast: the chain monitor completes the order when that
 * transaction has `CHAIN_CONFIRMATIONS` confirmations (see {@link mintFinality}), so a
 * worker's mints in flight are not bounded by its job concurrency. A retry finds the order's
 * live intent and only resumes it. Needs a chain.
 */
export const mintsQueue = defineQueue({
  name: "mints",
  schema: mintJobSchema,
  attempts: 10,
  backoffMs: 2_000,
  keepCompletedSeconds: 7 * DAY_SECONDS,
  keepFailedSeconds: 30 * DAY_SECONDS,
  // Jobs wait for their batch's window: a batch can only be as large as the jobs running at once.
  concurrency: (config: WorkerDeps["config"]) => Math.max(config.WORKER_CONCURRENCY, config.MINT_BATCH_SIZE),
  processor: ({ db, chain, config, log: processLog, hooks, fireblocks }: WorkerDeps) => {
    if (!chain) return undefined;
    const batcher = new MintBatcher({
      db,
      sender: chain.sender,
      log: processLog,
      windowMs: config.MINT_BATCH_WINDOW_MS,
      maxSize: config.MINT_BATCH_SIZE,
      ...(hooks?.mintBatcher ? { hooks: hooks.mintBatcher } : {}),
    });
    return async ({ referenceId }, job, log, token) => {
      // Under SIGNER_BACKEND=fireblocks a hand-over while Fireblocks' breaker is open postpones the job without spending an attempt.
      const viaSigner = <T>(call: () => Promise<T>) => circuitCall(call, fireblocks ?? {}, job, token);
      const order = await db
        .selectFrom("orders")
        .innerJoin("investors", "investors.id", "orders.investor_id")
        .leftJoin("mint_intent_orders as m", (join) => join.onRef("m.reference_id", "=", "orders.reference_id").on("m.live", "=", true))
        .select(["orders.status", "orders.token_address", "orders.token_amount", "investors.wallet", "m.intent_key"])
        .where("orders.reference_id", "=", referenceId)
        .executeTakeFirst();
      if (!order) throw new UnrecoverableError(`no order ${referenceId} to mint`);
      if (order.status === "completed") return { outcome: "already_completed" };
      if (order.status !== "minting") throw new UnrecoverableError(`order ${referenceId} is ${order.status}, not ready to mint`);
      if (order.intent_key) {
        // An earlier attempt (maybe in a process that died) put the order in an intent: resume that one.
        await viaSigner(() => resumeIntent(chain.sender, order.intent_key!));
        return { outcome: "submitted", intentKey: order.intent_key, resumed: true };
      }
      try {
        const intentKey = await viaSigner(() =>
          batcher.mint({
            referenceId,
            token: order.token_address as Address,
            wallet: order.wallet as Address,
            amount: BigInt(order.token_amount),
          }),
        );
        log.info({ referenceId, intentKey }, "order's mint broadcast");
        return { outcome: "submitted", intentKey };
      } catch (err) {
        if (err instanceof UnrecoverableError) {
          // Visible on the order; it stays `minting`, so replaying the dead letter (after the
          // cause is fixed, e.g. the address unfrozen) mints it.
          await db.updateTable("orders").set({ failure_reason: err.message, updated_at: new Date() }).where("reference_id", "=", referenceId).execute();
        }
        throw err;
      }
    };
  },
});

/**
 * Queue the mint of a paid order; the job id makes it idempotent. `retry` (n ≥ 1) is an
 * operator's n-th retry of a failed mint: its own job id, since the first job is kept a week.
 */
export async function enqueueMint(queues: QueueSet, referenceId: string, receivedAt?: string, retry = 0): Promise<void> {
  const data: MintJob = { referenceId, ...(receivedAt ? { receivedAt } : {}) };
  const queue = queues.queue(mintsQueue.name);
  // The same retry asked again after its job gave up reruns that job; a payment's first mint
  // job is added once and never rerun by a repeat.
  if (retry > 0) await addOrRerun(queue, "mint", data, `mint-${referenceId}-retry-${retry}`);
  else await queue.add("mint", data, { jobId: `mint-${referenceId}` });
}

/**
 * The chain monitor's handler for mint intents (`mint:` and `mint-batch:`), run in the
 * transaction that records the intent final: a confirmed mint completes every order it
 * carries with the hash that mined (and observes payment-to-tokens latency); a reverted one,
 * or one Fireblocks ended before it reached the chain, fails them (it minted nothing).
 */
export const mintFinality =
  (metrics?: Metrics): FinalityHandler =>
  async (trx: Transaction<Database>, intent: IntentRow) => {
    const hash = intent.mined_hash ?? intent.tx_hash;
    if (intent.status === "confirmed") {
      const done = await sql<{ paid_at: Date | null; retried: boolean }>`
        update orders o set status = 'completed', mint_tx_hash = ${hash}, completed_at = now(), updated_at = now(), failure_reason = null
          from mint_intent_orders m
         where m.intent_key = ${intent.intent_key} and m.live and o.reference_id = m.reference_id and o.status = 'minting'
        returning o.paid_at,
          exists (select 1 from mint_intent_orders r where r.reference_id = o.reference_id and not r.live) as retried`.execute(trx);
      // An order minted by an operator's retry waited for a person, not for the pipeline: not observed.
      for (const o of done.rows) {
        if (o.paid_at && !o.retried) metrics?.webhookToEffect.observe({ queue: "mints" }, (Date.now() - o.paid_at.getTime()) / 1000);
      }
      return;
    }
    const reason = intent.status === "failed" ? custodyFailure(intent) : `mint transaction ${hash} reverted`;
    await sql`
      update orders o set status = 'mint_failed', failure_reason = ${reason}, mint_tx_hash = ${hash}, updated_at = now()
        from mint_intent_orders m
       where m.intent_key = ${intent.intent_key} and m.live and o.reference_id = m.reference_id and o.status = 'minting'`.execute(trx);
  };
