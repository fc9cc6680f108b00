import { sql, type Kysely } from "kysely";
import type { Hex, PublicClient } from "viem";
import type { FireblocksApi } from "../clients/fireblocks-api.js";
import { TERMINAL_STATUSES } from "../clients/fireblocks.js";
import type { Database } from "../db/schema.js";
import { LeasedPoller, type Lease } from "../lifecycle/leased-poller.js";
import type { Logger } from "../log.js";
import { FinalityHandlers, type FinalityHandler, type IntentMonitor } from "./finality.js";
import { recordCustodyStatus } from "./fireblocks-signer.js";
import type { ChainMetrics } from "./metrics.js";
import { receiptOrUndefined } from "./monitor.js";
import type { IntentRow } from "./tx-sender.js";

export interface FireblocksIntentMonitorOptions {
  db: Kysely<Database>;
  publicClient: PublicClient;
  api: FireblocksApi;
  log: Logger;
  chainId: number;
  /** The signer vault's address: the intents watched are the ones it sends. */
  signer: string;
  /** Blocks on top of (and including) the transaction's block on our node, as with local signers. */
  confirmations: number;
  pollingIntervalMs: number;
  /** A transaction not heard of (webhook or lookup) for this long is looked up by its externalTxId. */
  statusPollMs: number;
  metrics?: ChainMetrics;
  lease?: Lease;
}

/** What one pass saw and did (tests and logs). */
export interface FireblocksPassReport {
  open: number;
  /** Lookups of a status no webhook brought in time. */
  lookedUp: number;
  finalized: number;
  failed: number;
}

const BALANCE_EVERY_MS = 10_000;
/**
 * A recorded intent never linked to a Fireblocks transaction is looked up after this long: its
 * job retries far sooner (and finds the transaction itself), so this only catches one whose
 * job gave up after Fireblocks had created the transaction.
 */
const UNLINKED_AFTER_MS = 60_000;

/**
 * Watches the intents handed to Fireblocks until they are final, once per poll. Their status
 * arrives with Fireblocks' webhooks (the custody processor records it on the intent); one not
 * heard of for `statusPollMs` is looked up by externalTxId (a webhook lost or late), and so is
 * an intent left unlinked for a minute (its job gave up after Fireblocks created it). Then:
 * - COMPLETED: the receipt of its hash is read from our own node; once it has `confirmations`
 *   blocks the intent is `confirmed` (or `reverted`, if the receipt says so) and its finality
 *   handler runs in the same database transaction;
 * - FAILED, REJECTED, CANCELLED, BLOCKED: `reverted` if its transaction is in a block (the
 *   call failed on chain), else `failed`: nothing reached the chain. The handler runs too.
 * Nonces, fees, replacement and rebroadcast are Fireblocks' business for its vault.
 */
export class FireblocksIntentMonitor implements IntentMonitor {
  private readonly handlers = new FinalityHandlers();
  private readonly poller: LeasedPoller;
  private balancesReadAt = 0;

  constructor(private readonly opts: FireblocksIntentMonitorOptions) {
    this.poller = new LeasedPoller({
      what: "Fireblocks intent monitor",
      intervalMs: opts.pollingIntervalMs,
      log: opts.log,
      pass: () => this.pass(),
      ...(opts.lease ? { lease: opts.lease } : {}),
    });
  }

  onFinal(prefix: string, handler: FinalityHandler): void {
    this.handlers.add(prefix, handler);
  }

  start(): void {
    this.poller.start();
  }

  async stop(): Promise<void> {
    await this.poller.stop();
  }

  /** One look; safe from several processes at once (every final write is conditional). */
  async pass(): Promise<FireblocksPassReport> {
    const opts = this.opts;
    const { db } = opts;
    const rows = await db
      .selectFrom("chain_transactions")
      .selectAll()
      .where("chain_id", "=", opts.chainId)
      .where("from_address", "=", opts.signer)
      .where((eb) =>
        eb.or([
          eb("status", "=", "broadcast"),
          // Recorded, never linked, and old: its job may have died after Fireblocks created it.
          eb.and([eb("status", "=", "intent"), eb("created_at", "<", sql<Date>`now() - make_interval(secs => ${UNLINKED_AFTER_MS / 1000})`)]),
        ]),
      )
      .orderBy("created_at")
      .execute();
    const report: FireblocksPassReport = { open: rows.length, lookedUp: 0, finalized: 0, failed: 0 };
    const head = rows.length > 0 ? await opts.publicClient.getBlockNumber({ cacheTime: 0 }) : 0n;
    for (const stale of rows) {
      let row: IntentRow | undefined = stale;
      const heardAt = row.custody_checked_at?.getTime() ?? 0;
      // A terminal status is final at Fireblocks; only a COMPLETED one that came without its hash needs asking again.
      const known = row.custody_status !== null && TERMINAL_STATUSES.has(row.custody_status) && (row.custody_status !== "COMPLETED" || row.tx_hash !== null);
      if (Date.now() - heardAt >= opts.statusPollMs && !known) {
        row = await this.lookUp(row);
        report.lookedUp += 1;
      }
      if (row?.status === "broadcast" && row.custody_status && TERMINAL_STATUSES.has(row.custody_status)) {
        const outcome = await this.settle(row, head);
        if (outcome === "final") report.finalized += 1;
        if (outcome === "failed") report.failed += 1;
      }
    }
    await this.exportSignerHealth(rows.length);
    if (report.lookedUp || report.finalized || report.failed) opts.log.info(report, "Fireblocks intent monitor pass");
    return report;
  }

  /** Ask Fireblocks for the transaction by externalTxId and record what it says. */
  private async lookUp(row: IntentRow): Promise<IntentRow | undefined> {
    const { api, db, log } = this.opts;
    const tx = await api.transactionByExternalId(row.intent_key).catch((err: Error) => {
      log.warn({ intentKey: row.intent_key, err: err.message }, "Fireblocks lookup of an intent failed; next pass tries again");
      return null;
    });
    if (tx === null) return row;
    if (tx === undefined) {
      // Never created: a `broadcast` row cannot be in this state; an `intent` row waits for its job's retry.
      if (row.status === "broadcast")
        log.error({ intentKey: row.intent_key, custodyTxId: row.custody_tx_id }, "Fireblocks has no transaction for a submitted intent");
      return row;
    }
    if (!(await recordCustodyStatus(db, row.intent_key, tx))) {
      log.error(
        { intentKey: row.intent_key, found: tx.id, linked: row.custody_tx_id },
        "Fireblocks transaction with this externalTxId is not the one linked to the intent",
      );
      return row;
    }
    log.info({ intentKey: row.intent_key, custodyTxId: tx.id, status: tx.status }, "intent's Fireblocks status looked up (no webhook in time)");
    return db.selectFrom("chain_transactions").selectAll().where("intent_key", "=", row.intent_key).executeTakeFirst();
  }

  /** A terminal Fireblocks status: make the intent final once our node agrees. */
  private async settle(row: IntentRow, head: bigint): Promise<"final" | "failed" | "waiting"> {
    const { publicClient, log } = this.opts;
    const receipt = row.tx_hash ? await receiptOrUndefined(publicClient, row.tx_hash as Hex) : undefined;
    if (row.custody_status === "COMPLETED") {
      if (!receipt) {
        // Our node may lag Fireblocks' for a moment; longer than a status poll deserves a word.
        if (Date.now() - (row.custody_checked_at?.getTime() ?? 0) > this.opts.statusPollMs) {
          log.warn({ intentKey: row.intent_key, txHash: row.tx_hash }, "Fireblocks reports COMPLETED but our node has no receipt of its hash");
        }
        return "waiting";
      }
      if (head - receipt.blockNumber + 1n < BigInt(this.opts.confirmations)) return "waiting";
    }
    if (!receipt) {
      // A hash our node still holds in its pool is on its way (our node lags Fireblocks'): wait for it.
      if (row.tx_hash && (await publicClient.getTransaction({ hash: row.tx_hash as Hex }).catch(() => undefined))) return "waiting";
      await this.finalize(row, { status: "failed" });
      log.warn(
        { intentKey: row.intent_key, custodyTxId: row.custody_tx_id, status: row.custody_status, subStatus: row.custody_sub_status },
        "Fireblocks ended the transaction without putting it on chain",
      );
      return "failed";
    }
    const tx = await publicClient.getTransaction({ hash: receipt.transactionHash });
    await this.finalize(row, {
      status: receipt.status === "success" ? "confirmed" : "reverted",
      nonce: BigInt(tx.nonce),
      mined_hash: receipt.transactionHash,
      block_number: receipt.blockNumber.toString(),
      block_hash: receipt.blockHash,
      receipt_status: receipt.status === "success" ? "success" : "reverted",
    });
    return "final";
  }

  private async finalize(
    row: IntentRow,
    set: {
      status: "confirmed" | "reverted" | "failed";
      nonce?: bigint;
      mined_hash?: string;
      block_number?: string;
      block_hash?: string;
      receipt_status?: "success" | "reverted";
    },
  ): Promise<void> {
    await this.opts.db.transaction().execute(async (trx) => {
      const final = await trx
        .updateTable("chain_transactions")
        .set({ ...set, confirmed_at: sql<Date>`now()` })
        .where("intent_key", "=", row.intent_key)
        .where("status", "=", "broadcast")
        .returningAll()
        .executeTakeFirst();
      if (final) await this.handlers.run(trx, final);
    });
  }

  private async exportSignerHealth(open: number): Promise<void> {
    const { metrics, publicClient, signer } = this.opts;
    if (!metrics) return;
    metrics.pending.set({ address: signer }, open);
    if (Date.now() - this.balancesReadAt >= BALANCE_EVERY_MS) {
      metrics.balance.set({ address: signer }, Number(await publicClient.getBalance({ address: signer as Hex })));
      this.balancesReadAt = Date.now();
    }
  }
}
