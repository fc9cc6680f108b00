import { sql, type Kysely } from "kysely";
import { getAddress, parseAbiItem, type Address, type PublicClient } from "viem";
import { LeasedPoller, type Lease } from "../../lifecycle/leased-poller.js";
import type { Database } from "../../db/schema.js";
import type { Logger } from "../../log.js";
import type { QueueSet } from "../../queues/queue-set.js";
import { dvpIntentKey, loadDvpOrders, shortfall, type DvpOrder } from "./settlement.js";
import { enqueueSettlement } from "./settlements-queue.js";

const APPROVAL = parseAbiItem("event Approval(address indexed owner, address indexed spender, uint256 value)");
export const APPROVAL_CURSOR = "dvp-approvals";
/** Orders checked on chain at once in one pass (each check is a few reads). */
const CHECK_CONCURRENCY = 8;

export interface AllowanceWatcherOptions {
  db: Kysely<Database>;
  publicClient: PublicClient;
  queues: QueueSet;
  log: Logger;
  chainId: number;
  dvp: Address;
  stablecoins: readonly Address[];
  confirmations: number;
  pollingIntervalMs: number;
  logChunkBlocks: number;
  /** Where to start without a stored cursor; default the confirmed head of the first pass. */
  startBlock?: bigint;
  lease?: Lease;
}

/** What one pass saw and did (tests and logs). */
export interface WatchReport {
  /** The newest block with `confirmations` confirmations: everything this pass read is at or below it. */
  safeBlock: bigint;
  approvals: number;
  checked: number;
  settling: number;
  expired: number;
}

/**
 * Watches the allowed stablecoins' `Approval(owner, spender = DvP)` logs and queues the
 * settlement of each `awaiting_allowance` order whose buyer now covers the cash amount.
 * Reorg-safe by reading only confirmed blocks: the cursor advances over blocks with
 * `CHAIN_CONFIRMATIONS` confirmations (its own block included) and allowance and balance are
 * read as of the newest such block, so an Approval a reorg can still remove is never acted on.
 * An order is checked when it is new, when its buyer's Approval appears, and on every pass
 * while the allowance covers it but something else (balance, the seller, KYC) does not.
 * Orders past `expiresAt` become `expired`.
 */
export class AllowanceWatcher {
  private readonly poller: LeasedPoller;

  constructor(private readonly opts: AllowanceWatcherOptions) {
    this.poller = new LeasedPoller({
      what: "DvP allowance watcher",
      intervalMs: opts.pollingIntervalMs,
      log: opts.log,
      pass: () => this.pass(),
      ...(opts.lease ? { lease: opts.lease } : {}),
    });
  }

  /** Poll until stopped; passes never overlap. */
  start(): void {
    this.poller.start();
  }

  async stop(): Promise<void> {
    await this.poller.stop();
  }

  /** One look at the chain; safe twice (every write is conditional, job ids dedupe). */
  async pass(): Promise<WatchReport> {
    const { db, publicClient, chainId, log } = this.opts;
    const head = await publicClient.getBlockNumber({ cacheTime: 0 });
    const safeBlock = head - BigInt(this.opts.confirmations - 1);
    const report: WatchReport = { safeBlock, approvals: 0, checked: 0, settling: 0, expired: 0 };
    if (safeBlock < 0n) return report;

    const stored = await db
      .selectFrom("chain_cursors")
      .select("block_number")
      .where("name", "=", APPROVAL_CURSOR)
      .where("chain_id", "=", chainId)
      .executeTakeFirst();
    const cursor = stored ? BigInt(stored.block_number) : (this.opts.startBlock ?? safeBlock + 1n) - 1n;

    // Buyers (per stablecoin) whose Approval to the DvP contract landed in newly confirmed blocks.
    const approved = new Set<string>();
    for (let from = cursor + 1n; from <= safeBlock; from += BigInt(this.opts.logChunkBlocks)) {
      const to = from + BigInt(this.opts.logChunkBlocks) - 1n < safeBlock ? from + BigInt(this.opts.logChunkBlocks) - 1n : safeBlock;
      const logs = await publicClient.getLogs({
        address: [...this.opts.stablecoins],
        event: APPROVAL,
        args: { spender: this.opts.dvp },
        fromBlock: from,
        toBlock: to,
      });
      for (const l of logs) approved.add(`${getAddress(l.address)}:${getAddress(l.args.owner!)}`);
      report.approvals += logs.length;
    }

    const expired = await db
      .updateTable("orders")
      .set({ status: "expired", waiting_reason: sql`coalesce(waiting_reason, 'no settlement before expiresAt')`, updated_at: new Date() })
      .where("rail", "=", "stablecoin")
      .where("status", "=", "awaiting_allowance")
      .where("expires_at", "<=", new Date())
      .returning("reference_id")
      .execute();
    report.expired = expired.length;

    const waiting = await loadDvpOrders(db).where("orders.status", "=", "awaiting_allowance").orderBy("orders.created_at").execute();
    const due = waiting.filter((o) => o.dvp_checked_block === null || approved.has(`${getAddress(o.cash_token!)}:${getAddress(o.wallet)}`));
    const ready: DvpOrder[] = [];
    for (let i = 0; i < due.length; i += CHECK_CONCURRENCY) {
      await Promise.all(
        due.slice(i, i + CHECK_CONCURRENCY).map(async (order) => {
          report.checked += 1;
          if (order.kyc_status !== "approved") {
            await this.keepWaiting(order, `investor KYC is ${order.kyc_status}`, null);
            return;
          }
          const short = await shortfall(publicClient, this.opts.dvp, order, safeBlock);
          if (!short) {
            ready.push(order);
            return;
          }
          // Short of allowance: nothing changes until the buyer's next Approval, which brings the order back.
          await this.keepWaiting(order, short.reason, short.kind === "allowance" ? safeBlock : null);
        }),
      );
    }

    for (const order of ready) {
      const moved = await db
        .updateTable("orders")
        .set((eb) => ({
          status: "settling",
          waiting_reason: null,
          dvp_intent_key: dvpIntentKey(order.reference_id, order.dvp_attempt),
          dvp_runs: eb("dvp_runs", "+", 1),
          dvp_checked_block: safeBlock.toString(),
          updated_at: new Date(),
        }))
        .where("reference_id", "=", order.reference_id)
        .where("status", "=", "awaiting_allowance")
        .returning("dvp_runs")
        .executeTakeFirst();
      if (moved) report.settling += 1;
    }

    // Every settling order whose transaction is not handed off yet (signed, or given to Fireblocks) has its job (a crash between the
    // move to `settling` and the enqueue loses nothing; the job id makes this a no-op otherwise).
    const unsent = await db
      .selectFrom("orders")
      .leftJoin("chain_transactions as t", "t.intent_key", "orders.dvp_intent_key")
      .select(["orders.reference_id", "orders.dvp_runs"])
      .where("orders.rail", "=", "stablecoin")
      .where("orders.status", "=", "settling")
      .where((eb) => eb.or([eb("t.status", "is", null), eb("t.status", "=", "intent")]))
      .execute();
    for (const o of unsent) await enqueueSettlement(this.opts.queues, o.reference_id, o.dvp_runs);

    await db
      .insertInto("chain_cursors")
      .values({ name: APPROVAL_CURSOR, chain_id: chainId, block_number: safeBlock.toString() })
      .onConflict((oc) =>
        oc
          .columns(["name", "chain_id"])
          .doUpdateSet({ block_number: safeBlock.toString(), updated_at: new Date() })
          .where("chain_cursors.block_number", "<", safeBlock.toString()),
      )
      .execute();

    if (report.approvals || report.settling || report.expired) log.info({ ...report, safeBlock: safeBlock.toString() }, "DvP allowance watcher pass");
    return report;
  }

  private async keepWaiting(order: DvpOrder, reason: string, checkedBlock: bigint | null): Promise<void> {
    const block = checkedBlock === null ? null : checkedBlock.toString();
    // Orders re-checked every pass are written only when what they wait for changed.
    if (order.waiting_reason === reason && order.dvp_checked_block === block) return;
    await this.opts.db
      .updateTable("orders")
      .set({ waiting_reason: reason, dvp_checked_block: block, updated_at: new Date() })
      .where("reference_id", "=", order.reference_id)
      .where("status", "=", "awaiting_allowance")
      .execute();
  }
}
