import { sql, type Kysely } from "kysely";
import type { Hex, PublicClient } from "viem";
import { TERMINAL_STATUSES } from "../clients/fireblocks.js";
import type { Database } from "../db/schema.js";
import type { Lease } from "../lifecycle/leased-poller.js";
import type { Logger } from "../log.js";
import { PollingIntentMonitor } from "./finality.js";
import type { FireblocksSigner } from "./fireblocks-signer.js";
import type { ChainMetrics } from "./metrics.js";
import { receiptOrUndefined } from "./monitor.js";
import type { IntentRow } from "./tx-sender.js";

export interface FireblocksIntentMonitorOptions {
  db: Kysely<Database>;
  publicClient: PublicClient;
  /** The signer the intents were handed to (its vault address, lookups, the check that a call is ours). */
  signer: FireblocksSigner;
  log: Logger;
  chainId: number;
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
  /** Handed over more than STUCK_AFTER_MS ago and not final, or needing a person (hookrail_chain_stuck_transactions). */
  stuck: number;
}

/**
 * An intent whose externalTxId was written but which is not marked handed over is looked up
 * once after this long: its job retries far sooner (and asks Fireblocks itself), so this only
 * catches one whose job gave up after Fireblocks had created the call.
 */
const UNLINKED_AFTER_MS = 60_000;
/** Handed over this long ago and still not final: counted as stuck, so the stuck-transactions alert fires. */
export const FIREBLOCKS_STUCK_AFTER_MS = 15 * 60_000;

type Outcome = "final" | "failed" | "waiting" | "needs-person";

/**
 * Watches the intents handed to Fireblocks until they are final, once per poll. Their status
 * arrives with Fireblocks' webhooks (the custody processor records it on the intent); one not
 * heard of for `statusPollMs` is looked up by externalTxId (a webhook lost or late), and so,
 * once, is an intent whose hand-over a crash left unrecorded. Then:
 * - a transaction whose hash has a receipt on our node with `confirmations` blocks, and is
 *   our call (from the vault, to the intent's contract, its calldata and value), is final:
 *   `confirmed`, or `reverted` if the receipt says so, whatever Fireblocks' wording; the
 *   intent's finality handler runs in the same database transaction;
 * - REJECTED, BLOCKED, CANCELLED or FAILED with no hash ever seen: `failed`, nothing reached
 *   the chain; the handler runs too;
 * - a failure status for a transaction that was broadcast (it had a hash) and has no receipt:
 *   it may have been replaced or dropped from Fireblocks' console under another transaction,
 *   so nothing is decided and it is counted stuck, for a person.
 * Nonces, fees and broadcasting are Fireblocks' business for its vault.
 */
export class FireblocksIntentMonitor extends PollingIntentMonitor {
  constructor(private readonly opts: FireblocksIntentMonitorOptions) {
    super({ what: "Fireblocks intent monitor", intervalMs: opts.pollingIntervalMs, log: opts.log, lease: opts.lease });
  }

  /** One look; safe from several processes at once (every final write is conditional). */
  async pass(): Promise<FireblocksPassReport> {
    const { db, log } = this.opts;
    const rows = await db
      .selectFrom("chain_transactions")
      .selectAll()
      .where("chain_id", "=", this.opts.chainId)
      .where("custody_external_id", "is not", null)
      .where((eb) =>
        eb.or([
          eb("status", "=", "broadcast"),
          eb.and([
            eb("status", "=", "intent"),
            eb("custody_checked_at", "is", null),
            eb("created_at", "<", sql<Date>`now() - make_interval(secs => ${UNLINKED_AFTER_MS / 1000})`),
          ]),
        ]),
      )
      .orderBy("created_at")
      .execute();
    const report: FireblocksPassReport = { open: 0, lookedUp: 0, finalized: 0, failed: 0, stuck: 0 };
    const head = rows.length > 0 ? await this.opts.publicClient.getBlockNumber({ cacheTime: 0 }) : 0n;
    for (const stale of rows) {
      // One row's trouble (Fireblocks or the node answering badly about it) must not hold up the others.
      try {
        const outcome = await this.watch(stale, head, report);
        if (outcome === "final") report.finalized += 1;
        if (outcome === "failed") report.failed += 1;
        const overdue = stale.status === "broadcast" && stale.signed_at !== null && Date.now() - stale.signed_at.getTime() > FIREBLOCKS_STUCK_AFTER_MS;
        if (outcome === "needs-person" || (outcome === "waiting" && overdue)) report.stuck += 1;
        if (stale.status === "broadcast" && outcome !== "final" && outcome !== "failed") report.open += 1;
      } catch (err) {
        log.warn({ intentKey: stale.intent_key, err: (err as Error).message }, "Fireblocks intent monitor could not check an intent; next pass tries again");
      }
    }
    await this.exportSignerHealth(report);
    if (report.lookedUp || report.finalized || report.failed) log.info(report, "Fireblocks intent monitor pass");
    return report;
  }

  private async watch(stale: IntentRow, head: bigint, report: FireblocksPassReport): Promise<Outcome> {
    const { signer, db, log, statusPollMs } = this.opts;
    let row = stale;
    const heardAt = row.custody_checked_at?.getTime() ?? 0;
    // A terminal status is final at Fireblocks, but one that came (by webhook) without a hash is
    // asked once more: a COMPLETED needs its hash, and a failure is only `failed` (nothing on
    // chain, so its order may be retried) if Fireblocks itself still reports no hash.
    const known = row.custody_status !== null && TERMINAL_STATUSES.has(row.custody_status) && row.tx_hash !== null;
    if (!known && Date.now() - heardAt >= statusPollMs) {
      report.lookedUp += 1;
      const looked = await signer.lookUp(row);
      row = looked.row;
      if (!looked.found) {
        // Never created (a crash before the create): its job's retry hands it over; asked once only.
        await db.updateTable("chain_transactions").set({ custody_checked_at: sql<Date>`now()` }).where("intent_key", "=", row.intent_key).execute();
        if (row.status === "broadcast")
          log.error({ intentKey: row.intent_key, custodyTxId: row.custody_tx_id }, "Fireblocks has no transaction for a submitted intent");
        return "waiting";
      }
      log.info(
        { intentKey: row.intent_key, custodyTxId: row.custody_tx_id, status: row.custody_status },
        "intent's Fireblocks status looked up (no webhook in time)",
      );
    }
    if (row.status !== "broadcast" || row.custody_status === null || !TERMINAL_STATUSES.has(row.custody_status)) return "waiting";
    return this.settle(row, head);
  }

  /** A terminal Fireblocks status: make the intent final once our node agrees. */
  private async settle(row: IntentRow, head: bigint): Promise<Outcome> {
    const { publicClient, log } = this.opts;
    const receipt = row.tx_hash ? await receiptOrUndefined(publicClient, row.tx_hash as Hex) : undefined;
    if (receipt) {
      if (head - receipt.blockNumber + 1n < BigInt(this.opts.confirmations)) return "waiting";
      const tx = await publicClient.getTransaction({ hash: receipt.transactionHash });
      const ours =
        tx.from.toLowerCase() === row.from_address.toLowerCase() &&
        tx.to?.toLowerCase() === row.to_address.toLowerCase() &&
        tx.input.toLowerCase() === row.data.toLowerCase() &&
        tx.value === BigInt(row.value);
      if (!ours) {
        log.error(
          { intentKey: row.intent_key, txHash: row.tx_hash, from: tx.from, to: tx.to },
          "the transaction Fireblocks reports for an intent is not its call; not applied",
        );
        return "needs-person";
      }
      await this.finalize(row, {
        status: receipt.status === "success" ? "confirmed" : "reverted",
        mined_hash: receipt.transactionHash,
        block_number: receipt.blockNumber.toString(),
        block_hash: receipt.blockHash,
        receipt_status: receipt.status === "success" ? "success" : "reverted",
      });
      return "final";
    }
    if (row.custody_status === "COMPLETED") {
      // Our node may lag Fireblocks' for a moment; longer than a status poll deserves a word.
      if (Date.now() - (row.custody_checked_at?.getTime() ?? 0) > this.opts.statusPollMs) {
        log.warn({ intentKey: row.intent_key, txHash: row.tx_hash }, "Fireblocks reports COMPLETED but our node has no receipt of its hash");
      }
      return "waiting";
    }
    if (row.tx_hash) {
      // Still in our node's pool: on its way.
      if (await publicClient.getTransaction({ hash: row.tx_hash as Hex }).catch(() => undefined)) return "waiting";
      log.error(
        { intentKey: row.intent_key, custodyTxId: row.custody_tx_id, status: row.custody_status, subStatus: row.custody_sub_status, txHash: row.tx_hash },
        "Fireblocks ended a broadcast transaction without a receipt on our node (replaced or dropped in Fireblocks?); check the vault's transactions before acting",
      );
      return "needs-person";
    }
    await this.finalize(row, { status: "failed" });
    log.warn(
      { intentKey: row.intent_key, custodyTxId: row.custody_tx_id, status: row.custody_status, subStatus: row.custody_sub_status },
      "Fireblocks ended the transaction before it reached the chain",
    );
    return "failed";
  }

  private async finalize(
    row: IntentRow,
    set: {
      status: "confirmed" | "reverted" | "failed";
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

  private async exportSignerHealth(report: FireblocksPassReport): Promise<void> {
    const { metrics, publicClient, signer } = this.opts;
    if (!metrics) return;
    metrics.pending.set({ address: signer.address }, report.open);
    metrics.stuck.set(report.stuck);
    if (this.balancesDue()) metrics.balance.set({ address: signer.address }, Number(await publicClient.getBalance({ address: signer.address })));
  }
}
