import type { Transaction } from "kysely";
import type { Database } from "../db/schema.js";
import { LeasedPoller, type Lease } from "../lifecycle/leased-poller.js";
import type { Logger } from "../log.js";
import type { IntentRow } from "./tx-sender.js";

/**
 * Called once per intent when it becomes final, inside the database transaction that records
 * it final: whatever the handler writes commits with it or not at all. The intent's status
 * is `confirmed`, `reverted` (mined, the call failed) or `failed` (the custody signer ended it
 * without putting it on chain).
 */
export type FinalityHandler = (trx: Transaction<Database>, intent: IntentRow) => Promise<void>;

/** What watches sent intents until they are final (the local signers' ChainMonitor, or Fireblocks'). */
export interface IntentMonitor {
  /** Run `handler` for every intent whose key starts with `prefix` when it becomes final. */
  onFinal(prefix: string, handler: FinalityHandler): void;
  /** Poll until stopped; passes never overlap. */
  start(): void;
  stop(): Promise<void>;
}

/** The finality handlers registered on a monitor, by intent key prefix. */
export class FinalityHandlers {
  private readonly handlers: { prefix: string; handler: FinalityHandler }[] = [];

  add(prefix: string, handler: FinalityHandler): void {
    this.handlers.push({ prefix, handler });
  }

  /** Every handler whose prefix the intent's key starts with, in registration order. */
  async run(trx: Transaction<Database>, intent: IntentRow): Promise<void> {
    for (const h of this.handlers) if (intent.intent_key.startsWith(h.prefix)) await h.handler(trx, intent);
  }
}

/** Why a `failed` intent did nothing: the custody signer's end of it, e.g. "Fireblocks transaction <id> ended BLOCKED (BLOCKED_BY_POLICY) before reaching the chain". */
export function custodyFailure(intent: IntentRow): string {
  const sub = intent.custody_sub_status ? ` (${intent.custody_sub_status})` : "";
  return `Fireblocks transaction ${intent.custody_tx_id} ended ${intent.custody_status}${sub} before reaching the chain`;
}

/** How often a monitor reads its signers' balances for `hookrail_signer_balance_wei`: they move slowly next to the poll. */
const BALANCE_EVERY_MS = 10_000;

/**
 * What both monitors share: the finality handlers, and a leased poll running `pass` (one
 * process at a time per chain, passes never overlapping).
 */
export abstract class PollingIntentMonitor implements IntentMonitor {
  protected readonly handlers = new FinalityHandlers();
  private readonly poller: LeasedPoller;
  private balancesReadAt = 0;

  constructor(opts: { what: string; intervalMs: number; log: Logger; lease?: Lease | undefined }) {
    this.poller = new LeasedPoller({
      what: opts.what,
      intervalMs: opts.intervalMs,
      log: opts.log,
      pass: () => this.pass(),
      ...(opts.lease ? { lease: opts.lease } : {}),
    });
  }

  /** One look; safe to run from several processes at once (every write is conditional). */
  abstract pass(): Promise<unknown>;

  onFinal(prefix: string, handler: FinalityHandler): void {
    this.handlers.add(prefix, handler);
  }

  start(): void {
    this.poller.start();
  }

  async stop(): Promise<void> {
    await this.poller.stop();
  }

  /** True at most once per BALANCE_EVERY_MS: time to read the signers' balances again. */
  protected balancesDue(): boolean {
    if (Date.now() - this.balancesReadAt < BALANCE_EVERY_MS) return false;
    this.balancesReadAt = Date.now();
    return true;
  }
}
