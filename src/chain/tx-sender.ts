import { UnrecoverableError } from "bullmq";
import { sql, type Kysely, type Selectable } from "kysely";
import { BaseError, ExecutionRevertedError, keccak256, type Address, type Hex, type LocalAccount, type PublicClient, type TransactionReceipt } from "viem";
import type { ChainTransactionsTable, ChainTxStatus, Database } from "../db/schema.js";
import type { Logger } from "../log.js";

export interface SendRequest {
  /** Deterministic key of the side effect (e.g. `mint:<order reference>`): one transaction per key, ever. */
  intentKey: string;
  to: Address;
  data: Hex;
  value?: bigint;
}

export interface SentTransaction {
  intentKey: string;
  hash: Hex;
  nonce: bigint;
  status: "confirmed" | "reverted";
  blockNumber: bigint;
}

export interface TxSenderOptions {
  db: Kysely<Database>;
  publicClient: PublicClient;
  account: LocalAccount;
  chainId: number;
  log: Logger;
  /** One attempt waits this long for a receipt, then fails (retryable) after rebroadcasting. */
  receiptTimeoutMs: number;
  pollingIntervalMs: number;
}

/** Raised when a stored transaction is not mined in time; the job retries and rebroadcasts it. */
export class ReceiptTimeoutError extends Error {
  override name = "ReceiptTimeoutError";
}

type Row = Selectable<ChainTransactionsTable>;

/** Intents signed under one hold of the nonce lock, at most. */
const MAX_BATCH = 50;

const isRevert = (err: unknown) => err instanceof BaseError && Boolean(err.walk((e) => e instanceof ExecutionRevertedError));
// What nodes answer when the very same transaction is already in their pool or mined.
const ALREADY_KNOWN = /already (known|imported)|known transaction|nonce too low|replacement transaction underpriced/i;

/**
 * Sends each intent's transaction exactly once, across processes and crashes:
 *   1. record the intent under its key (a row in chain_transactions);
 *   2. under the signer's nonce row lock, sign and store the raw transaction and its hash,
 *      advancing the nonce in the same database transaction (no gap, no reuse);
 *   3. broadcast the stored bytes; 4. wait for the receipt and record it.
 * A retry at any point resumes from what is stored: it rebroadcasts the same bytes or reads
 * their receipt and never signs a second transaction for the key.
 */
export class TxSender {
  readonly address: Address;
  constructor(private readonly opts: TxSenderOptions) {
    this.address = opts.account.address;
  }

  async send(req: SendRequest): Promise<SentTransaction> {
    let row = await this.ensureIntent(req);
    if (row.status === "confirmed" || row.status === "reverted") return this.result(row);
    if (!row.raw_tx) row = await this.sign(req);
    await this.broadcast(row);
    const receipt = await this.waitForReceipt(row);
    return this.recordReceipt(row, receipt);
  }

  /** Find an intent's stored transaction, if any (for status pages and tests). */
  async find(intentKey: string): Promise<Row | undefined> {
    return (await this.opts.db.selectFrom("chain_transactions").selectAll().where("intent_key", "=", intentKey).executeTakeFirst()) as Row | undefined;
  }

  /**
   * Rebroadcast every signed, unconfirmed transaction of this signer, lowest nonce first. Run
   * at worker start and when a receipt is late: a transaction whose sender died between
   * signing and broadcasting would otherwise hold up every later nonce.
   */
  async rebroadcastPending(): Promise<number> {
    const rows = (await this.opts.db
      .selectFrom("chain_transactions")
      .selectAll()
      .where("chain_id", "=", this.opts.chainId)
      .where("from_address", "=", this.address)
      .where("status", "in", ["signed", "broadcast"])
      .orderBy("nonce")
      .execute()) as Row[];
    for (const row of rows) {
      await this.broadcast(row);
      // Mined long ago but never recorded (its job died for good): record it now.
      const receipt = await this.receipt(row.tx_hash as Hex);
      if (receipt) await this.recordReceipt(row, receipt);
    }
    return rows.length;
  }

  private async ensureIntent(req: SendRequest): Promise<Row> {
    const { db, chainId } = this.opts;
    const created = (await db
      .insertInto("chain_transactions")
      .values({
        intent_key: req.intentKey,
        chain_id: chainId,
        from_address: this.address,
        to_address: req.to,
        data: req.data,
        value: (req.value ?? 0n).toString(),
      })
      .onConflict((oc) => oc.column("intent_key").doNothing())
      .returningAll()
      .executeTakeFirst()) as Row | undefined;
    if (created) return created;
    const row = (await this.find(req.intentKey))!;
    const same =
      row.to_address.toLowerCase() === req.to.toLowerCase() &&
      row.data.toLowerCase() === req.data.toLowerCase() &&
      BigInt(row.value) === (req.value ?? 0n) &&
      row.chain_id === chainId &&
      row.from_address === this.address;
    if (!same) throw new UnrecoverableError(`intent ${req.intentKey} is already recorded with a different transaction`);
    return row;
  }

  private async sign(req: SendRequest): Promise<Row> {
    const { publicClient, log } = this.opts;
    // Estimates run before taking the nonce lock so the lock is held only to sign and store.
    let gas: bigint;
    try {
      gas = await publicClient.estimateGas({ account: this.address, to: req.to, data: req.data, value: req.value ?? 0n });
    } catch (err) {
      if (isRevert(err)) throw new UnrecoverableError(`transaction for ${req.intentKey} would revert: ${(err as BaseError).shortMessage}`);
      throw err;
    }
    await this.ensureNonceRow();
    const signed = await new Promise<Row>((resolve, reject) => {
      this.waiting.push({ req, gas, resolve, reject });
      void this.drain();
    });
    log.info({ intentKey: req.intentKey, nonce: signed.nonce, txHash: signed.tx_hash }, "transaction signed and stored");
    return signed;
  }

  private waiting: { req: SendRequest; gas: bigint; resolve: (row: Row) => void; reject: (err: unknown) => void }[] = [];
  private draining = false;

  /**
   * Group signing: the intents waiting in this process are signed together, in one database
   * transaction under one hold of the nonce row lock (like a group commit), so the lock's
   * round trips are paid once per batch rather than once per transaction, and at most one
   * connection per process waits on the row.
   */
  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.waiting.length > 0) {
        const batch = this.waiting.splice(0, MAX_BATCH);
        try {
          const rows = await this.signBatch(batch);
          for (const b of batch) b.resolve(rows.get(b.req.intentKey)!);
        } catch (err) {
          for (const b of batch) b.reject(err);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private async signBatch(batch: { req: SendRequest; gas: bigint }[]): Promise<Map<string, Row>> {
    const { db, account, chainId } = this.opts;
    const fees = await this.fees();
    const keys = [...new Set(batch.map((b) => b.req.intentKey))];
    return db.transaction().execute(async (trx) => {
      // Intent rows first, in key order (no deadlock between processes), then the nonce row.
      const current = (await trx
        .selectFrom("chain_transactions")
        .selectAll()
        .where("intent_key", "in", keys)
        .orderBy("intent_key")
        .forUpdate()
        .execute()) as Row[];
      const rows = new Map(current.map((r) => [r.intent_key, r]));
      const { next_nonce } = await trx
        .selectFrom("signer_nonces")
        .select("next_nonce")
        .where("chain_id", "=", chainId)
        .where("address", "=", this.address)
        .forUpdate()
        .executeTakeFirstOrThrow();
      let nonce = BigInt(next_nonce);
      const fresh: Row[] = [];
      for (const { req, gas } of batch) {
        const row = rows.get(req.intentKey)!;
        if (row.raw_tx) continue; // signed already: by another process, or earlier in this batch
        const raw = await account.signTransaction({
          type: "eip1559",
          chainId,
          to: req.to,
          data: req.data,
          value: req.value ?? 0n,
          nonce: Number(nonce),
          // Headroom: the stored bytes may be rebroadcast later, when state and base fee moved.
          gas: (gas * 12n) / 10n,
          maxFeePerGas: fees.maxFeePerGas * 2n,
          maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
        });
        const signed = { ...row, nonce: nonce.toString(), raw_tx: raw, tx_hash: keccak256(raw), status: "signed" as ChainTxStatus };
        rows.set(req.intentKey, signed);
        fresh.push(signed);
        nonce += 1n;
      }
      if (fresh.length === 0) return rows;
      // The nonce advance and every stored transaction in one statement.
      const values = sql.join(fresh.map((r) => sql`(${r.intent_key}, ${r.nonce}::int8, ${r.raw_tx}, ${r.tx_hash})`));
      await sql`
        with advanced as (
          update signer_nonces set next_nonce = ${nonce.toString()}::int8
           where chain_id = ${chainId} and address = ${this.address}
        )
        update chain_transactions t
           set nonce = v.nonce, raw_tx = v.raw_tx, tx_hash = v.tx_hash, status = 'signed', signed_at = now()
          from (values ${values}) as v(intent_key, nonce, raw_tx, tx_hash)
         where t.intent_key = v.intent_key`.execute(trx);
      return rows;
    });
  }

  private feeCache: { at: number; value: Promise<{ maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }> } | undefined;

  /** Fee estimates shared for a second: they barely move, and the signed fee cap has 2x headroom. */
  private fees(): Promise<{ maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }> {
    if (!this.feeCache || Date.now() - this.feeCache.at > 1_000) {
      const value = this.opts.publicClient.estimateFeesPerGas();
      this.feeCache = { at: Date.now(), value };
      value.catch(() => (this.feeCache = undefined));
    }
    return this.feeCache.value;
  }

  /** The nonce row starts at the chain's count for the signer, the first time only. */
  private nonceRowExists = false;

  private async ensureNonceRow(): Promise<void> {
    if (this.nonceRowExists) return;
    const { db, chainId, publicClient } = this.opts;
    const exists = await db
      .selectFrom("signer_nonces")
      .select("next_nonce")
      .where("chain_id", "=", chainId)
      .where("address", "=", this.address)
      .executeTakeFirst();
    if (exists) {
      this.nonceRowExists = true;
      return;
    }
    const count = await publicClient.getTransactionCount({ address: this.address, blockTag: "pending" });
    await db
      .insertInto("signer_nonces")
      .values({ chain_id: chainId, address: this.address, next_nonce: count })
      .onConflict((oc) => oc.columns(["chain_id", "address"]).doNothing())
      .execute();
  }

  private async broadcast(row: Row): Promise<void> {
    if (!row.raw_tx || !row.tx_hash) throw new Error(`intent ${row.intent_key} has no signed transaction`);
    try {
      await this.opts.publicClient.sendRawTransaction({ serializedTransaction: row.raw_tx as Hex });
    } catch (err) {
      const message = err instanceof BaseError ? `${err.shortMessage} ${err.details ?? ""}` : String(err);
      if (!ALREADY_KNOWN.test(message)) throw err;
      // Already in the pool or mined: fine if it is *our* transaction. A nonce used by some
      // other transaction means the key was used outside hookrail; that needs a person.
      if (/nonce too low/i.test(message) && !(await this.receipt(row.tx_hash as Hex))) {
        throw new UnrecoverableError(
          `nonce ${row.nonce} of ${this.address} was used by another transaction; ${row.intent_key} (${row.tx_hash}) can never be mined`,
        );
      }
    }
    await this.opts.db
      .updateTable("chain_transactions")
      .set((eb) => ({ status: "broadcast", broadcasts: eb("broadcasts", "+", 1) }))
      .where("intent_key", "=", row.intent_key)
      .where("status", "in", ["signed", "broadcast"])
      .execute();
  }

  private async receipt(hash: Hex): Promise<TransactionReceipt | undefined> {
    try {
      return await this.opts.publicClient.getTransactionReceipt({ hash });
    } catch (err) {
      if (err instanceof BaseError && err.name === "TransactionReceiptNotFoundError") return undefined;
      throw err;
    }
  }

  private async waitForReceipt(row: Row): Promise<TransactionReceipt> {
    const hash = row.tx_hash as Hex;
    const deadline = Date.now() + this.opts.receiptTimeoutMs;
    for (;;) {
      const receipt = await this.receipt(hash);
      if (receipt) return receipt;
      if (Date.now() > deadline) {
        await this.rebroadcastPending().catch((err: Error) => this.opts.log.warn({ err: err.message }, "rebroadcast failed"));
        throw new ReceiptTimeoutError(
          `transaction ${hash} (nonce ${row.nonce}) for ${row.intent_key} not mined within ${this.opts.receiptTimeoutMs} ms; it will be rebroadcast`,
        );
      }
      await new Promise((r) => setTimeout(r, this.opts.pollingIntervalMs));
    }
  }

  private async recordReceipt(row: Row, receipt: TransactionReceipt): Promise<SentTransaction> {
    const status: ChainTxStatus = receipt.status === "success" ? "confirmed" : "reverted";
    await this.opts.db
      .updateTable("chain_transactions")
      .set({ status, block_number: receipt.blockNumber.toString(), confirmed_at: sql<Date>`coalesce(confirmed_at, now())` })
      .where("intent_key", "=", row.intent_key)
      .execute();
    return { intentKey: row.intent_key, hash: receipt.transactionHash, nonce: BigInt(row.nonce!), status, blockNumber: receipt.blockNumber };
  }

  private result(row: Row): SentTransaction {
    return {
      intentKey: row.intent_key,
      hash: row.tx_hash as Hex,
      nonce: BigInt(row.nonce!),
      status: row.status as "confirmed" | "reverted",
      blockNumber: BigInt(row.block_number!),
    };
  }
}
