import { UnrecoverableError } from "bullmq";
import { sql, type Kysely, type Selectable, type Transaction } from "kysely";
import { BaseError, ExecutionRevertedError, keccak256, type Address, type Hex, type LocalAccount, type PublicClient } from "viem";
import type { ChainTransactionsTable, Database } from "../db/schema.js";
import type { Logger } from "../log.js";
import { initialBid, readMarketFees, type MarketFees } from "./fees.js";
import { custodyFailure } from "./finality.js";

export interface SendRequest {
  /** Deterministic key of the side effect (e.g. `mint:<order reference>`): one transaction per key, ever. */
  intentKey: string;
  to: Address;
  data: Hex;
  value?: bigint;
  /** Send from this signer (e.g. the treasury); unset = the signer with the fewest transactions in flight. */
  from?: Address;
  /** The caller's fresh gas estimate of exactly this call (it simulated it already); unset = estimated here. */
  gas?: bigint;
}

/** An intent's transaction once it is final: mined with `CHAIN_CONFIRMATIONS` confirmations. */
export interface SentTransaction {
  intentKey: string;
  /** The version that mined (a replacement's hash if one was needed). */
  hash: Hex;
  /** Unset under Fireblocks, which keeps its vault's nonces. */
  nonce: bigint | undefined;
  status: "confirmed" | "reverted";
  blockNumber: bigint;
}

export type IntentRow = Selectable<ChainTransactionsTable>;

/** Test hooks at the points a crash must be survivable; production passes none. */
export interface ChainHooks {
  /** A replacement is signed and not yet stored (a crash here must leave only the stored versions on the network). */
  afterReplacementSigned?(intentKey: string): void | Promise<void>;
  /** Fireblocks answered the create of an intent's transaction; nothing of it is stored yet. */
  afterCustodyCreated?(intentKey: string): void | Promise<void>;
}

/**
 * A signer whose key is held elsewhere (Fireblocks): it takes a recorded intent and puts it on
 * chain itself, choosing nonce and fees. `submit` hands an intent over exactly once, also when
 * retried after a crash or a lost answer, and returns the row as stored after the hand-over;
 * `reconcile` asks whether an intent not yet marked handed over was handed over after all.
 */
export interface CustodySigner {
  readonly address: Address;
  submit(row: IntentRow): Promise<IntentRow>;
  reconcile(row: IntentRow): Promise<IntentRow>;
}

export interface TxSenderOptions {
  db: Kysely<Database>;
  publicClient: PublicClient;
  /** Every local signer; the first is the treasury (dividends pay from it). Empty with `custody`. */
  accounts: LocalAccount[];
  /** Sign through this custody signer instead of local keys (SIGNER_BACKEND=fireblocks); it is the only signer. */
  custody?: CustodySigner;
  chainId: number;
  log: Logger;
  /** No version of any transaction bids more per gas than this. */
  maxFeePerGas: bigint;
  /** One `send` waits this long for finality, then fails (retryable): its job resumes the same intent. */
  receiptTimeoutMs: number;
  pollingIntervalMs: number;
}

/** Raised when a stored transaction is not final in time; the job retries and waits for the same intent again. */
export class ReceiptTimeoutError extends Error {
  override name = "ReceiptTimeoutError";
}

/** Intents signed under one hold of a signer's nonce lock, at most. */
const MAX_GROUP = 200;
/** Statuses of an intent whose transaction is signed and not final. */
export const IN_FLIGHT = ["signed", "broadcast", "mined"] as const;

/** Has the intent left our hands (signed here, or handed to the custody signer)? From then on only that transaction is resumed. */
export const handedOff = (row: IntentRow) => row.status !== "intent";

const isRevert = (err: unknown) => err instanceof BaseError && Boolean(err.walk((e) => e instanceof ExecutionRevertedError));
// What nodes answer when the very same transaction (or one with its nonce) is already in their pool or mined.
const ALREADY_KNOWN = /already (known|imported)|known transaction|nonce too low|replacement transaction underpriced|transaction underpriced/i;

/** The revert reason of a failed call, as short as the node gives it. */
export const revertReason = (err: unknown) => (err instanceof BaseError ? err.shortMessage : String(err));

interface Waiting {
  req: SendRequest;
  gas: bigint;
  resolve: (row: IntentRow) => void;
  reject: (err: unknown) => void;
}

/**
 * Sends each intent's transaction exactly once, across processes and crashes, from several
 * signers with many transactions in flight each:
 *   1. record the intent under its key (a row in chain_transactions) with its signer;
 *   2. under that signer's nonce row lock, sign and store the raw transaction (version 0) and
 *      advance the nonce in the same database transaction (no gap, no reuse);
 *   3. broadcast the stored bytes and return: the {@link ChainMonitor} watches it from here
 *      (receipts, confirmations, reorgs, fee replacement, dropped transactions).
 * A retry at any point resumes from what is stored and never signs a second nonce for the key.
 */
export class TxSender {
  /** The treasury signer (the first key). */
  readonly address: Address;
  readonly signers: readonly Address[];
  private readonly accounts: Map<string, LocalAccount>;

  constructor(private readonly opts: TxSenderOptions) {
    this.signers = opts.custody ? [opts.custody.address] : opts.accounts.map((a) => a.address);
    if (this.signers.length === 0) throw new Error("TxSender needs at least one signer");
    this.address = this.signers[0]!;
    this.accounts = new Map(opts.accounts.map((a) => [a.address, a]));
  }

  get chainId(): number {
    return this.opts.chainId;
  }

  get maxFeePerGas(): bigint {
    return this.opts.maxFeePerGas;
  }

  /** The signing account of one of our signers (the monitor signs replacements with it). */
  account(address: string): LocalAccount {
    const account = this.accounts.get(address);
    if (!account) throw new UnrecoverableError(`transaction signer ${address} is not one of the configured SIGNER_PRIVATE_KEY keys`);
    return account;
  }

  /** Record, sign and broadcast the intent's transaction (resuming whatever is stored); does not wait for it to mine. */
  async submit(req: SendRequest): Promise<IntentRow> {
    let row = await this.ensureIntent(req);
    // Under custody the signer broadcasts (and rebroadcasts) itself: ours is only the hand-over,
    // after the same simulation a local signature gets (a reverting call never reaches Fireblocks).
    // A retry of a hand-over asks the signer first: the call may have run already, and
    // simulating it again would then fail (or pass) for the wrong reason.
    if (this.opts.custody) {
      row = await this.opts.custody.reconcile(row);
      if (row.status !== "intent") return row;
      if (req.gas === undefined) await this.estimate(row);
      return this.opts.custody.submit(row);
    }
    if (row.status !== "signed" && row.status !== "broadcast" && row.status !== "intent") return row;
    if (!row.raw_tx) row = await this.sign(row, req.gas);
    await this.broadcast(row);
    return row;
  }

  /** Submit, then wait until the monitor has seen the transaction final (dividend payouts wait; mints do not). */
  async send(req: SendRequest): Promise<SentTransaction> {
    const row = await this.submit(req);
    return this.waitFinal(row.intent_key);
  }

  /** Find an intent's stored transaction, if any (for status pages and tests). */
  async find(intentKey: string): Promise<IntentRow | undefined> {
    return this.opts.db.selectFrom("chain_transactions").selectAll().where("intent_key", "=", intentKey).executeTakeFirst();
  }

  /**
   * The intent as it stands, for a caller deciding whether to resume it ({@link handedOff}):
   * under custody an intent not yet marked handed over is first checked with the signer,
   * since a crash between its create and our write leaves only the signer knowing.
   */
  async resolve(intentKey: string): Promise<IntentRow | undefined> {
    const row = await this.find(intentKey);
    return row && this.opts.custody ? this.opts.custody.reconcile(row) : row;
  }

  /** Wait for the monitor to record the intent final; a timeout is retryable and changes nothing. */
  async waitFinal(intentKey: string): Promise<SentTransaction> {
    const deadline = Date.now() + this.opts.receiptTimeoutMs;
    for (;;) {
      const row = await this.find(intentKey);
      if (!row) throw new Error(`no intent ${intentKey}`);
      if (row.status === "confirmed" || row.status === "reverted") return finalOf(row);
      if (row.status === "failed") {
        throw new UnrecoverableError(`${intentKey}: ${custodyFailure(row)}`);
      }
      if (Date.now() > deadline) {
        throw new ReceiptTimeoutError(
          `transaction ${row.tx_hash} (nonce ${row.nonce}) for ${intentKey} not final within ${this.opts.receiptTimeoutMs} ms (status ${row.status}); the monitor keeps watching it`,
        );
      }
      await new Promise((r) => setTimeout(r, this.opts.pollingIntervalMs));
    }
  }

  /**
   * Would this call succeed from `from`? Throws the node's revert reason wrapped in an
   * `UnrecoverableError` if not (a retry cannot make a reverting call pass).
   */
  async simulate(req: Omit<SendRequest, "intentKey">, from: Address): Promise<bigint> {
    try {
      return await this.opts.publicClient.estimateGas({ account: from, to: req.to, data: req.data, value: req.value ?? 0n });
    } catch (err) {
      if (isRevert(err)) throw new UnrecoverableError(`would revert: ${revertReason(err)}`);
      throw err;
    }
  }

  /**
   * The signer for a new intent: the one with the fewest transactions in flight (read from
   * Postgres at most once a second, plus what this process chose since).
   */
  async pickSigner(): Promise<Address> {
    if (this.signers.length === 1) return this.address;
    const counts = await this.inFlight();
    // Ties go round-robin, so a process that finds every signer idle still spreads its intents.
    let best: Address | undefined;
    for (let i = 0; i < this.signers.length; i += 1) {
      const s = this.signers[(this.turn + i) % this.signers.length]!;
      if (best === undefined || counts.get(s)! < counts.get(best)!) best = s;
    }
    this.turn = (this.signers.indexOf(best!) + 1) % this.signers.length;
    counts.set(best!, counts.get(best!)! + 1);
    return best!;
  }

  /**
   * Transactions in flight per signer, read at most once a second. Concurrent callers share
   * one read and one map, so the picks made while it is fresh all count.
   */
  private inFlight(): Promise<Map<Address, number>> {
    if (!this.load || Date.now() - this.load.at > 1_000) {
      const at = Date.now();
      const counts = this.opts.db
        .selectFrom("chain_transactions")
        .select(["from_address", (eb) => eb.fn.countAll<string>().as("n")])
        .where("chain_id", "=", this.opts.chainId)
        .where("status", "in", ["intent", ...IN_FLIGHT])
        .groupBy("from_address")
        .execute()
        .then((rows) => {
          const byAddress = new Map(rows.map((c) => [c.from_address, Number(c.n)]));
          return new Map(this.signers.map((s) => [s, byAddress.get(s) ?? 0]));
        });
      this.load = { at, counts };
      counts.catch(() => (this.load = undefined));
    }
    return this.load.counts;
  }

  private load: { at: number; counts: Promise<Map<Address, number>> } | undefined;
  private turn = 0;

  /**
   * Insert an intent row (inside the caller's database transaction, e.g. with a batch's
   * membership) unless the key exists. Returns whether this call created it.
   */
  async recordIntent(trx: Transaction<Database> | Kysely<Database>, req: SendRequest, from: Address): Promise<boolean> {
    const created = await trx
      .insertInto("chain_transactions")
      .values({
        intent_key: req.intentKey,
        chain_id: this.opts.chainId,
        from_address: from,
        to_address: req.to,
        data: req.data,
        value: (req.value ?? 0n).toString(),
      })
      .onConflict((oc) => oc.column("intent_key").doNothing())
      .returning("intent_key")
      .executeTakeFirst();
    return created !== undefined;
  }

  private async ensureIntent(req: SendRequest): Promise<IntentRow> {
    const existing = await this.find(req.intentKey);
    if (!existing) {
      const from = req.from ?? (await this.pickSigner());
      if (!this.signers.includes(from)) throw new UnrecoverableError(`transaction signer ${from} is not one of the configured signers`);
      await this.recordIntent(this.opts.db, req, from);
    }
    const row = (existing ?? (await this.find(req.intentKey)))!;
    const same =
      row.to_address.toLowerCase() === req.to.toLowerCase() &&
      row.data.toLowerCase() === req.data.toLowerCase() &&
      BigInt(row.value) === (req.value ?? 0n) &&
      row.chain_id === this.opts.chainId &&
      (!req.from || row.from_address === req.from);
    if (!same) throw new UnrecoverableError(`intent ${req.intentKey} is already recorded with a different transaction`);
    return row;
  }

  private async sign(row: IntentRow, estimate?: bigint): Promise<IntentRow> {
    const from = row.from_address as Address;
    const req: SendRequest = { intentKey: row.intent_key, to: row.to_address as Address, data: row.data as Hex, value: BigInt(row.value), from };
    // Estimates run before taking the nonce lock so the lock is held only to sign and store.
    const gas = estimate ?? (await this.estimate(row));
    await this.ensureNonceRow(from);
    const signed = await new Promise<IntentRow>((resolve, reject) => {
      const queue = this.waiting.get(from) ?? [];
      this.waiting.set(from, queue);
      queue.push({ req, gas, resolve, reject });
      void this.drain(from);
    });
    this.opts.log.info({ intentKey: row.intent_key, from, nonce: signed.nonce, txHash: signed.tx_hash }, "transaction signed and stored");
    return signed;
  }

  /** Simulate a recorded intent's call from its signer; a revert is unrecoverable and names the intent. */
  private async estimate(row: IntentRow): Promise<bigint> {
    try {
      return await this.simulate({ to: row.to_address as Address, data: row.data as Hex, value: BigInt(row.value) }, row.from_address as Address);
    } catch (err) {
      if (err instanceof UnrecoverableError) throw new UnrecoverableError(`transaction for ${row.intent_key} ${err.message}`);
      throw err;
    }
  }

  private waiting = new Map<Address, Waiting[]>();
  private draining = new Set<Address>();

  /**
   * Group signing, per signer: the intents waiting in this process are signed together, in
   * one database transaction under one hold of the signer's nonce row lock (like a group
   * commit), so the lock's round trips are paid once per group, and at most one connection
   * per process and signer waits on the row.
   */
  private async drain(from: Address): Promise<void> {
    if (this.draining.has(from)) return;
    this.draining.add(from);
    try {
      const queue = this.waiting.get(from)!;
      while (queue.length > 0) {
        const group = queue.splice(0, MAX_GROUP);
        try {
          const rows = await this.signGroup(from, group);
          for (const b of group) b.resolve(rows.get(b.req.intentKey)!);
        } catch (err) {
          for (const b of group) b.reject(err);
        }
      }
    } finally {
      this.draining.delete(from);
    }
  }

  private async signGroup(from: Address, group: Waiting[]): Promise<Map<string, IntentRow>> {
    const { db, chainId } = this.opts;
    const account = this.account(from);
    const bid = initialBid(await this.market(), this.opts.maxFeePerGas);
    const keys = [...new Set(group.map((b) => b.req.intentKey))];
    return db.transaction().execute(async (trx) => {
      // Intent rows first, in key order (no deadlock between processes), then the nonce row.
      const current = await trx.selectFrom("chain_transactions").selectAll().where("intent_key", "in", keys).orderBy("intent_key").forUpdate().execute();
      const rows = new Map(current.map((r) => [r.intent_key, r]));
      const { next_nonce } = await trx
        .selectFrom("signer_nonces")
        .select("next_nonce")
        .where("chain_id", "=", chainId)
        .where("address", "=", from)
        .forUpdate()
        .executeTakeFirstOrThrow();
      let nonce = BigInt(next_nonce);
      const fresh: IntentRow[] = [];
      for (const { req, gas } of group) {
        const row = rows.get(req.intentKey)!;
        if (row.raw_tx) continue; // signed already: by another process, or earlier in this group
        // Headroom: the stored bytes may be rebroadcast later, when state moved.
        const gasLimit = (gas * 12n) / 10n;
        const raw = await account.signTransaction({
          type: "eip1559",
          chainId,
          to: req.to,
          data: req.data,
          value: req.value ?? 0n,
          nonce: Number(nonce),
          gas: gasLimit,
          ...bid,
        });
        const signed: IntentRow = {
          ...row,
          nonce: nonce.toString(),
          raw_tx: raw,
          tx_hash: keccak256(raw),
          status: "signed",
          version: 0,
          gas_limit: gasLimit.toString(),
          max_fee_per_gas: bid.maxFeePerGas.toString(),
          max_priority_fee_per_gas: bid.maxPriorityFeePerGas.toString(),
        };
        rows.set(req.intentKey, signed);
        fresh.push(signed);
        nonce += 1n;
      }
      if (fresh.length === 0) return rows;
      // The nonce advance, every stored transaction and its first version in one statement.
      const values = sql.join(fresh.map((r) => sql`(${r.intent_key}, ${r.nonce}::int8, ${r.raw_tx}, ${r.tx_hash}, ${r.gas_limit}::numeric)`));
      await sql`
        with advanced as (
          update signer_nonces set next_nonce = ${nonce.toString()}::int8
           where chain_id = ${chainId} and address = ${from}
        ), versions as (
          insert into chain_tx_versions (intent_key, version, tx_hash, raw_tx, max_fee_per_gas, max_priority_fee_per_gas)
          select v.intent_key, 0, v.tx_hash, v.raw_tx, ${bid.maxFeePerGas.toString()}::numeric, ${bid.maxPriorityFeePerGas.toString()}::numeric
            from (values ${values}) as v(intent_key, nonce, raw_tx, tx_hash, gas_limit)
        )
        update chain_transactions t
           set nonce = v.nonce, raw_tx = v.raw_tx, tx_hash = v.tx_hash, status = 'signed', signed_at = now(), version = 0,
               gas_limit = v.gas_limit, max_fee_per_gas = ${bid.maxFeePerGas.toString()}::numeric,
               max_priority_fee_per_gas = ${bid.maxPriorityFeePerGas.toString()}::numeric
          from (values ${values}) as v(intent_key, nonce, raw_tx, tx_hash, gas_limit)
         where t.intent_key = v.intent_key`.execute(trx);
      return rows;
    });
  }

  private marketCache: { at: number; value: Promise<MarketFees> } | undefined;

  /** The market's fees, shared for a second: many intents are signed per block. */
  market(): Promise<MarketFees> {
    if (!this.marketCache || Date.now() - this.marketCache.at > 1_000) {
      const value = readMarketFees(this.opts.publicClient);
      this.marketCache = { at: Date.now(), value };
      value.catch(() => (this.marketCache = undefined));
    }
    return this.marketCache.value;
  }

  private headCache: { at: number; value: Promise<bigint> } | undefined;

  /** The head for `broadcast_block`, shared for half a second: a block's worth of broadcasts asks once. */
  private head(): Promise<bigint> {
    if (!this.headCache || Date.now() - this.headCache.at > 500) {
      const value = this.opts.publicClient.getBlockNumber({ cacheTime: 0 });
      this.headCache = { at: Date.now(), value };
      value.catch(() => (this.headCache = undefined));
    }
    return this.headCache.value;
  }

  private nonceRows = new Set<Address>();

  /** A signer's nonce row starts at the chain's count for it, the first time only. */
  private async ensureNonceRow(address: Address): Promise<void> {
    if (this.nonceRows.has(address)) return;
    const { db, chainId, publicClient } = this.opts;
    const exists = await db.selectFrom("signer_nonces").select("next_nonce").where("chain_id", "=", chainId).where("address", "=", address).executeTakeFirst();
    if (!exists) {
      const count = await publicClient.getTransactionCount({ address, blockTag: "pending" });
      await db
        .insertInto("signer_nonces")
        .values({ chain_id: chainId, address, next_nonce: count })
        .onConflict((oc) => oc.columns(["chain_id", "address"]).doNothing())
        .execute();
    }
    this.nonceRows.add(address);
  }

  /**
   * Send an intent's latest stored version to the node. "Already known" and "nonce too low"
   * are fine when the nonce is ours (the monitor reads which version mined); a nonce used by a
   * transaction that is not one of the intent's versions means the key was used outside
   * hookrail, which needs a person.
   */
  async broadcast(row: IntentRow, head?: bigint): Promise<void> {
    if (!row.raw_tx || !row.tx_hash) throw new Error(`intent ${row.intent_key} has no signed transaction`);
    try {
      await this.opts.publicClient.sendRawTransaction({ serializedTransaction: row.raw_tx as Hex });
    } catch (err) {
      const message = err instanceof BaseError ? `${err.shortMessage} ${err.details ?? ""}` : String(err);
      if (!ALREADY_KNOWN.test(message)) throw err;
      if (/nonce too low/i.test(message) && !(await this.anyVersionMined(row.intent_key))) {
        throw new UnrecoverableError(
          `nonce ${row.nonce} of ${row.from_address} was used by another transaction; ${row.intent_key} (${row.tx_hash}) can never be mined`,
        );
      }
    }
    const at = head ?? (await this.head());
    await this.opts.db
      .updateTable("chain_transactions")
      .set((eb) => ({ status: "broadcast", broadcasts: eb("broadcasts", "+", 1), broadcast_block: eb.fn.coalesce("broadcast_block", eb.val(at.toString())) }))
      .where("intent_key", "=", row.intent_key)
      .where("status", "in", ["signed", "broadcast"])
      .execute();
  }

  private async anyVersionMined(intentKey: string): Promise<boolean> {
    const versions = await this.opts.db.selectFrom("chain_tx_versions").select("tx_hash").where("intent_key", "=", intentKey).execute();
    for (const v of versions) {
      try {
        await this.opts.publicClient.getTransactionReceipt({ hash: v.tx_hash as Hex });
        return true;
      } catch (err) {
        if (!(err instanceof BaseError && err.name === "TransactionReceiptNotFoundError")) throw err;
      }
    }
    return false;
  }
}

/** A final intent as the caller sees it: the hash that mined, not necessarily the latest version. */
export function finalOf(row: IntentRow): SentTransaction {
  return {
    intentKey: row.intent_key,
    hash: (row.mined_hash ?? row.tx_hash) as Hex,
    nonce: row.nonce === null ? undefined : BigInt(row.nonce),
    status: row.status as "confirmed" | "reverted",
    blockNumber: BigInt(row.block_number!),
  };
}
