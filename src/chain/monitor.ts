import { sql, type Kysely } from "kysely";
import { BaseError, keccak256, type Address, type Hex, type PublicClient, type TransactionReceipt } from "viem";
import type { Database } from "../db/schema.js";
import type { Lease } from "../lifecycle/leased-poller.js";
import { PollingIntentMonitor } from "./finality.js";
import type { Logger } from "../log.js";
import { replacementBid, type MarketFees } from "./fees.js";
import type { ChainMetrics } from "./metrics.js";
import { IN_FLIGHT, type ChainHooks, type IntentRow, type TxSender } from "./tx-sender.js";

export type { Lease } from "../lifecycle/leased-poller.js";

export interface ChainMonitorOptions {
  db: Kysely<Database>;
  publicClient: PublicClient;
  sender: TxSender;
  log: Logger;
  confirmations: number;
  replaceAfterBlocks: number;
  pollingIntervalMs: number;
  metrics?: ChainMetrics;
  lease?: Lease;
  hooks?: ChainHooks;
}

/** What one pass saw and did (tests and logs). */
export interface PassReport {
  head: bigint;
  open: number;
  mined: number;
  finalized: number;
  reorged: number;
  replaced: number;
  rebroadcast: number;
  stuck: number;
}

/** Mined rows handled at once per signer in one pass. */
const MINED_PARALLEL = 16;
/** A transaction signed this long ago and never broadcast has lost the process that would have. */
const ORPHANED_AFTER_MS = 5_000;

async function inParallel<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** The transaction's receipt, or undefined while it has none. */
export const receiptOrUndefined = async (publicClient: PublicClient, hash: Hex): Promise<TransactionReceipt | undefined> => {
  try {
    return await publicClient.getTransactionReceipt({ hash });
  } catch (err) {
    if (err instanceof BaseError && err.name === "TransactionReceiptNotFoundError") return undefined;
    throw err;
  }
};

/**
 * Watches every signed, not yet final transaction of our signers, once per poll:
 * - a signer's transaction count at the head says which nonces are mined; for those, the
 *   receipt of whichever version mined is recorded (`mined`);
 * - a mined transaction whose block is no longer canonical (a reorg) goes back to waiting
 *   and its latest version is rebroadcast: the same nonce, never a second intent;
 * - one with `confirmations` blocks on the head (its own included) is final: the intent's
 *   finality handler runs in the same database transaction;
 * - one not mined within `replaceAfterBlocks` of its broadcast is replaced: same nonce, same
 *   call, fees 12.5% up and at least the market, never above the cap (else it is `stuck`);
 * - when the lowest unmined nonce of a signer is missing from the node's pool (dropped, or
 *   never broadcast by a process that died), every unmined transaction of that signer is
 *   rebroadcast in nonce order.
 */
export class ChainMonitor extends PollingIntentMonitor {
  constructor(private readonly opts: ChainMonitorOptions) {
    super({ what: "chain monitor", intervalMs: opts.pollingIntervalMs, log: opts.log, lease: opts.lease });
  }

  /** One look at the chain; safe to run from several processes at once (every write is conditional). */
  async pass(): Promise<PassReport> {
    const { db, publicClient, sender } = this.opts;
    const head = await publicClient.getBlockNumber({ cacheTime: 0 });
    const rows = await db
      .selectFrom("chain_transactions")
      .selectAll()
      .where("chain_id", "=", sender.chainId)
      .where("status", "in", [...IN_FLIGHT])
      // Intents handed to Fireblocks (a deployment that switched backends) are its monitor's.
      .where("custody_external_id", "is", null)
      .orderBy("from_address")
      .orderBy("nonce")
      .execute();
    const report: PassReport = { head, open: rows.length, mined: 0, finalized: 0, reorged: 0, replaced: 0, rebroadcast: 0, stuck: 0 };
    const bySigner = new Map<string, IntentRow[]>();
    for (const r of rows) {
      const list = bySigner.get(r.from_address);
      if (list) list.push(r);
      else bySigner.set(r.from_address, [r]);
    }
    const blockHashes = new Map<bigint, Promise<Hex | undefined>>();
    const canonicalHash = (n: bigint) => {
      let p = blockHashes.get(n);
      if (!p) {
        p = publicClient
          .getBlock({ blockNumber: n })
          .then((b) => b.hash ?? undefined)
          .catch((err: unknown) => {
            if (err instanceof BaseError && err.name === "BlockNotFoundError") return undefined;
            throw err;
          });
        blockHashes.set(n, p);
      }
      return p;
    };
    let market: Promise<MarketFees> | undefined;
    const marketFees = () => (market ??= sender.market());

    await Promise.all(
      [...bySigner].map(async ([signer, list]) => {
        const minedCount = BigInt(await publicClient.getTransactionCount({ address: signer as Address, blockTag: "latest" }));
        const pending: IntentRow[] = [];
        const done: IntentRow[] = [];
        for (const row of list) (row.status === "mined" || BigInt(row.nonce!) < minedCount ? done : pending).push(row);
        // Mined rows need a few round trips each; many at once (a block of single mints) in parallel.
        await inParallel(done, MINED_PARALLEL, async (row) => {
          const current = row.status === "mined" ? row : await this.recordMined(row, report);
          if (current?.status === "mined") await this.checkMined(current, head, canonicalHash, report);
        });
        if (pending.length === 0) return;
        const first = pending[0]!;
        // A row still `signed` a moment after signing is normal (its job broadcasts it next);
        // one left `signed` for longer lost its broadcaster.
        const orphaned = first.status === "signed" && (first.signed_at === null || Date.now() - first.signed_at.getTime() > ORPHANED_AFTER_MS);
        const missing =
          orphaned ||
          (first.status !== "signed" &&
            BigInt(first.nonce!) === minedCount &&
            !(await publicClient.getTransaction({ hash: first.tx_hash as Hex }).catch(() => undefined)));
        if (missing) {
          for (const p of pending) {
            await sender.broadcast(p, head).catch((err: Error) => this.opts.log.warn({ intentKey: p.intent_key, err: err.message }, "rebroadcast failed"));
            report.rebroadcast += 1;
          }
          this.opts.log.warn({ signer, from: first.nonce, count: pending.length }, "lowest unmined transaction missing from the pool; rebroadcast");
        }
        for (const p of pending) {
          const since = p.broadcast_block === null ? 0n : head - BigInt(p.broadcast_block);
          if (since >= BigInt(this.opts.replaceAfterBlocks)) {
            const outcome = await this.replace(p, head, await marketFees());
            if (outcome === "replaced") report.replaced += 1;
            if (outcome === "stuck") report.stuck += 1;
          } else if (p.stuck) {
            report.stuck += 1;
          }
        }
        this.opts.metrics?.pending.set({ address: signer }, pending.length);
      }),
    );
    await this.exportSignerHealth(bySigner);
    if (report.mined || report.finalized || report.reorged || report.replaced || report.rebroadcast) {
      this.opts.log.info({ ...report, head: head.toString() }, "chain monitor pass");
    }
    return report;
  }

  private async exportSignerHealth(bySigner: Map<string, IntentRow[]>): Promise<void> {
    const { metrics, sender, publicClient } = this.opts;
    if (!metrics) return;
    for (const s of sender.signers) if (!bySigner.has(s)) metrics.pending.set({ address: s }, 0);
    // Balances move slowly next to the poll (which may run several times a second): read them every 10 s.
    if (this.balancesDue()) {
      const balances = await Promise.all(sender.signers.map((s) => publicClient.getBalance({ address: s })));
      sender.signers.forEach((s, i) => {
        metrics.balance.set({ address: s }, Number(balances[i]!));
      });
    }
    const stuck = [...bySigner.values()].flat().filter((r) => r.stuck).length;
    metrics.stuck.set(stuck);
  }

  /** The nonce is mined: find which of the intent's versions it was and record its receipt. */
  private async recordMined(row: IntentRow, report: PassReport): Promise<IntentRow | undefined> {
    const { db, publicClient, log } = this.opts;
    const versions = await db.selectFrom("chain_tx_versions").select("tx_hash").where("intent_key", "=", row.intent_key).orderBy("version", "desc").execute();
    for (const v of versions) {
      const receipt = await receiptOrUndefined(publicClient, v.tx_hash as Hex);
      if (!receipt) continue;
      const updated = await db
        .updateTable("chain_transactions")
        .set({
          status: "mined",
          mined_hash: receipt.transactionHash,
          block_number: receipt.blockNumber.toString(),
          block_hash: receipt.blockHash,
          receipt_status: receipt.status === "success" ? "success" : "reverted",
          stuck: false,
        })
        .where("intent_key", "=", row.intent_key)
        .where("status", "in", ["signed", "broadcast"])
        .returningAll()
        .executeTakeFirst();
      report.mined += 1;
      return updated;
    }
    // The count says mined but no version has a receipt: the node may lag between the two
    // reads; if it persists, another transaction took the nonce.
    log.warn({ intentKey: row.intent_key, nonce: row.nonce, signer: row.from_address }, "nonce mined but none of the intent's versions has a receipt");
    return undefined;
  }

  private async checkMined(row: IntentRow, head: bigint, canonicalHash: (n: bigint) => Promise<Hex | undefined>, report: PassReport): Promise<void> {
    const { db, publicClient, log } = this.opts;
    const block = BigInt(row.block_number!);
    const hash = block <= head ? await canonicalHash(block) : undefined;
    if (hash !== row.block_hash) {
      // Reorged out. It may already be in another block (the new branch included it too).
      const receipt = await receiptOrUndefined(publicClient, row.mined_hash as Hex);
      if (receipt && (await canonicalHash(receipt.blockNumber)) === receipt.blockHash) {
        await db
          .updateTable("chain_transactions")
          .set((eb) => ({
            block_number: receipt.blockNumber.toString(),
            block_hash: receipt.blockHash,
            receipt_status: receipt.status === "success" ? "success" : "reverted",
            reorgs: eb("reorgs", "+", 1),
          }))
          .where("intent_key", "=", row.intent_key)
          .where("status", "=", "mined")
          .execute();
        log.warn({ intentKey: row.intent_key, from: row.block_number, to: receipt.blockNumber.toString() }, "reorg moved a transaction to another block");
        report.reorged += 1;
        return;
      }
      const back = await db
        .updateTable("chain_transactions")
        .set((eb) => ({ status: "broadcast", mined_hash: null, block_number: null, block_hash: null, receipt_status: null, reorgs: eb("reorgs", "+", 1) }))
        .where("intent_key", "=", row.intent_key)
        .where("status", "=", "mined")
        .returningAll()
        .executeTakeFirst();
      if (back) {
        await this.opts.sender
          .broadcast(back, head)
          .catch((err: Error) => log.warn({ intentKey: row.intent_key, err: err.message }, "rebroadcast after reorg failed"));
        await db.updateTable("chain_transactions").set({ broadcast_block: head.toString() }).where("intent_key", "=", row.intent_key).execute();
      }
      log.warn({ intentKey: row.intent_key, block: row.block_number, nonce: row.nonce }, "reorg dropped a mined transaction; rebroadcast");
      report.reorged += 1;
      return;
    }
    if (head - block + 1n < BigInt(this.opts.confirmations)) return;
    await this.finalize(row, report);
  }

  private async finalize(row: IntentRow, report: PassReport): Promise<void> {
    await this.opts.db.transaction().execute(async (trx) => {
      const final = await trx
        .updateTable("chain_transactions")
        .set({ status: row.receipt_status === "success" ? "confirmed" : "reverted", confirmed_at: sql<Date>`now()` })
        .where("intent_key", "=", row.intent_key)
        .where("status", "=", "mined")
        .where("block_hash", "=", row.block_hash)
        .returningAll()
        .executeTakeFirst();
      if (!final) return;
      await this.handlers.run(trx, final);
      report.finalized += 1;
    });
  }

  /** Sign and store a replacement (store first: only stored versions ever reach the network), then broadcast it. */
  private async replace(row: IntentRow, head: bigint, market: MarketFees): Promise<"replaced" | "stuck" | "skipped"> {
    const { db, sender, log } = this.opts;
    const previous = { maxFeePerGas: BigInt(row.max_fee_per_gas ?? 0), maxPriorityFeePerGas: BigInt(row.max_priority_fee_per_gas ?? 0) };
    const bid = replacementBid(previous, market, sender.maxFeePerGas);
    if (!bid) {
      if (!row.stuck) {
        await db.updateTable("chain_transactions").set({ stuck: true }).where("intent_key", "=", row.intent_key).execute();
        log.error(
          {
            intentKey: row.intent_key,
            nonce: row.nonce,
            signer: row.from_address,
            maxFeePerGas: previous.maxFeePerGas.toString(),
            baseFee: market.baseFeePerGas.toString(),
          },
          "transaction not mined and its fee is at CHAIN_MAX_FEE_PER_GAS; it waits for the base fee to fall",
        );
      }
      return "stuck";
    }
    const raw = await sender.account(row.from_address).signTransaction({
      type: "eip1559",
      chainId: sender.chainId,
      to: row.to_address as Address,
      data: row.data as Hex,
      value: BigInt(row.value),
      nonce: Number(row.nonce),
      gas: BigInt(row.gas_limit!),
      ...bid,
    });
    await this.opts.hooks?.afterReplacementSigned?.(row.intent_key);
    const hash = keccak256(raw);
    const version = row.version + 1;
    const stored = await db.transaction().execute(async (trx) => {
      const locked = await trx
        .selectFrom("chain_transactions")
        .select(["version", "status"])
        .where("intent_key", "=", row.intent_key)
        .forUpdate()
        .executeTakeFirst();
      // Another process replaced it meanwhile, or it mined: this signature is thrown away unsent.
      if (!locked || locked.version !== row.version || (locked.status !== "broadcast" && locked.status !== "signed")) return undefined;
      await trx
        .insertInto("chain_tx_versions")
        .values({
          intent_key: row.intent_key,
          version,
          tx_hash: hash,
          raw_tx: raw,
          max_fee_per_gas: bid.maxFeePerGas,
          max_priority_fee_per_gas: bid.maxPriorityFeePerGas,
        })
        .execute();
      return trx
        .updateTable("chain_transactions")
        .set({
          version,
          raw_tx: raw,
          tx_hash: hash,
          max_fee_per_gas: bid.maxFeePerGas.toString(),
          max_priority_fee_per_gas: bid.maxPriorityFeePerGas.toString(),
          broadcast_block: head.toString(),
          stuck: false,
        })
        .where("intent_key", "=", row.intent_key)
        .returningAll()
        .executeTakeFirstOrThrow();
    });
    if (!stored) return "skipped";
    await sender.broadcast(stored, head).catch((err: Error) => log.warn({ intentKey: row.intent_key, err: err.message }, "broadcast of a replacement failed"));
    log.info(
      {
        intentKey: row.intent_key,
        nonce: row.nonce,
        version,
        txHash: hash,
        maxFeePerGas: bid.maxFeePerGas.toString(),
        baseFee: market.baseFeePerGas.toString(),
      },
      "transaction replaced with higher fees",
    );
    return "replaced";
  }
}
