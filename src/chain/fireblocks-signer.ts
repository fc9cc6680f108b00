import { UnrecoverableError } from "bullmq";
import { type Kysely, sql } from "kysely";
import { formatEther, formatGwei, type Address } from "viem";
import { createTransactionOnce, type FireblocksApi, type FireblocksTransaction } from "../clients/fireblocks-api.js";
import { movesForward } from "../clients/fireblocks.js";
import { ProviderError } from "../clients/http-error.js";
import type { Database } from "../db/schema.js";
import type { Logger } from "../log.js";
import type { ChainHooks, CustodySigner, IntentRow } from "./tx-sender.js";

export interface FireblocksSignerOptions {
  db: Kysely<Database>;
  api: FireblocksApi;
  log: Logger;
  /** The vault account that signs (FIREBLOCKS_SIGNER_VAULT_ID). */
  vaultId: string;
  /** Its wallet's address on the chain (FIREBLOCKS_SIGNER_ADDRESS), checked against the vault once. */
  address: Address;
  /** Fireblocks' id of the chain's native asset (FIREBLOCKS_SIGNER_ASSET_ID): pays the gas, carries `value`. */
  assetId: string;
  /**
   * Put before every intent key to make its externalTxId (`<QUEUE_PREFIX>:<chain id>:`):
   * externalTxIds are unique across a whole Fireblocks workspace, which other deployments
   * (staging on the same workspace, custody transfers) share.
   */
  externalIdPrefix: string;
  /** CHAIN_MAX_FEE_PER_GAS, handed to Fireblocks as `maxFee`. */
  maxFeePerGas?: bigint;
  hooks?: ChainHooks;
}

/** What a Fireblocks transaction says of itself: from a webhook, a lookup or the create's answer. */
export interface CustodyStatus {
  /** Fireblocks' transaction id. */
  id: string;
  status: string;
  subStatus?: string | null | undefined;
  txHash?: string | null | undefined;
}

/**
 * Signs through Fireblocks (SIGNER_BACKEND=fireblocks): each intent becomes one `CONTRACT_CALL`
 * from the signer vault to the intent's contract, under an externalTxId made of the intent key
 * and written to the intent before the create. Fireblocks accepts an externalTxId once, so a
 * retry after a crash or a lost answer meets the refusal and finds the transaction its earlier
 * attempt created (createTransactionOnce), and a retry asks Fireblocks first ({@link reconcile})
 * before it simulates the call again: never two on chain for one intent. Fireblocks picks the
 * nonce and the fee and broadcasts; the FireblocksIntentMonitor learns the outcome from its
 * webhooks or by asking.
 */
export class FireblocksSigner implements CustodySigner {
  readonly address: Address;
  private addressChecked: Promise<void> | undefined;

  constructor(private readonly opts: FireblocksSignerOptions) {
    this.address = opts.address;
  }

  /** The externalTxId an intent is handed over under. */
  externalIdOf(intentKey: string): string {
    return `${this.opts.externalIdPrefix}${intentKey}`;
  }

  /** Could a transaction under this externalTxId be one of our intents (this deployment and chain)? */
  owns(externalTxId: string): boolean {
    return externalTxId.startsWith(this.opts.externalIdPrefix);
  }

  /** Is this Fireblocks transaction the intent's call (from our vault, to its contract)? */
  isCallOf(tx: FireblocksTransaction, row: IntentRow): boolean {
    const to = tx.destinationAddress ?? (tx as { destination?: { oneTimeAddress?: { address?: string } } }).destination?.oneTimeAddress?.address;
    return (
      (tx.operation ?? "CONTRACT_CALL") === "CONTRACT_CALL" &&
      (tx.source?.id ?? this.opts.vaultId) === this.opts.vaultId &&
      typeof to === "string" &&
      to.toLowerCase() === row.to_address.toLowerCase()
    );
  }

  async submit(row: IntentRow): Promise<IntentRow> {
    const { api, db, log } = this.opts;
    await this.checkAddress();
    const externalTxId = row.custody_external_id ?? this.externalIdOf(row.intent_key);
    // Written before the create: a webhook that outruns the create's answer finds its intent,
    // and a retry knows the intent may already be at Fireblocks.
    if (row.custody_external_id === null) {
      await db
        .updateTable("chain_transactions")
        .set({ custody_external_id: externalTxId })
        .where("intent_key", "=", row.intent_key)
        .where("custody_external_id", "is", null)
        .execute();
    }
    const created = await createTransactionOnce(
      api,
      {
        operation: "CONTRACT_CALL",
        externalTxId,
        assetId: this.opts.assetId,
        // Exact: formatEther of a bigint is a decimal string, never a float.
        amount: formatEther(BigInt(row.value)),
        source: { type: "VAULT_ACCOUNT", id: this.opts.vaultId },
        destination: { type: "ONE_TIME_ADDRESS", oneTimeAddress: { address: row.to_address } },
        note: `hookrail ${row.intent_key}`,
        extraParameters: { contractCallData: row.data },
        feeLevel: "MEDIUM",
        ...(this.opts.maxFeePerGas !== undefined ? { maxFee: formatGwei(this.opts.maxFeePerGas) } : {}),
      },
      (found) => this.isCallOf(found, row),
    ).catch((err: unknown) => {
      if (err instanceof ProviderError && !err.retryable && /different transaction/.test(err.message)) throw new UnrecoverableError(err.message);
      throw err;
    });
    await this.opts.hooks?.afterCustodyCreated?.(row.intent_key);
    await recordCustodyStatus(db, externalTxId, created);
    const stored = await this.find(row.intent_key);
    log.info({ intentKey: row.intent_key, fireblocksTxId: created.id, existing: created.existing }, "intent submitted to Fireblocks");
    return stored;
  }

  /**
   * An intent still `intent` whose hand-over may have happened (its job died after the create,
   * or the answer was lost): ask Fireblocks by its externalTxId and record what it has. Returns
   * the row as it then stands (`broadcast` if Fireblocks has the call). No request for an
   * intent never handed over (no externalTxId written yet).
   */
  async reconcile(row: IntentRow): Promise<IntentRow> {
    return row.status === "intent" ? (await this.lookUp(row)).row : row;
  }

  /**
   * Ask Fireblocks for the intent's transaction by its externalTxId and record what it says.
   * `found` is false when Fireblocks has none (or the intent was never handed over); a
   * different call under our externalTxId is refused, never adopted.
   */
  async lookUp(row: IntentRow): Promise<{ row: IntentRow; found: boolean }> {
    if (row.custody_external_id === null) return { row, found: false };
    const tx = await this.opts.api.transactionByExternalId(row.custody_external_id);
    if (!tx) return { row, found: false };
    if (!this.isCallOf(tx, row)) {
      throw new UnrecoverableError(`Fireblocks holds a different transaction ${tx.id} under externalTxId ${row.custody_external_id}`);
    }
    await recordCustodyStatus(this.opts.db, row.custody_external_id, tx);
    return { row: await this.find(row.intent_key), found: true };
  }

  private find(intentKey: string): Promise<IntentRow> {
    return this.opts.db.selectFrom("chain_transactions").selectAll().where("intent_key", "=", intentKey).executeTakeFirstOrThrow();
  }

  /** The configured address must be the vault's wallet, or every simulation would run as somebody else. */
  private checkAddress(): Promise<void> {
    this.addressChecked ??= this.opts.api.vaultAssetAddresses(this.opts.vaultId, this.opts.assetId).then(
      (addresses) => {
        if (!addresses.some((a) => a.toLowerCase() === this.address.toLowerCase())) {
          throw new UnrecoverableError(
            `FIREBLOCKS_SIGNER_ADDRESS ${this.address} is not an address of vault ${this.opts.vaultId}'s ${this.opts.assetId} wallet (${addresses.join(", ") || "none"})`,
          );
        }
      },
      (err: unknown) => {
        this.addressChecked = undefined; // Fireblocks unreachable says nothing about the address: ask again
        throw err;
      },
    );
    return this.addressChecked;
  }
}

/**
 * Record what Fireblocks says of the transaction under `externalTxId` on the intent handed
 * over under it: links it if unlinked, moves `intent` on to `broadcast` (handed over), and keeps
 * the status moving forward only, so a late webhook never undoes a newer lookup. Only the
 * transaction linked to the intent counts: a different Fireblocks transaction under the same
 * externalTxId is ignored. Returns whether an intent took the status.
 */
export async function recordCustodyStatus(db: Kysely<Database>, externalTxId: string, s: CustodyStatus): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .selectFrom("chain_transactions")
      .select(["intent_key", "custody_tx_id", "custody_status", "status"])
      .where("custody_external_id", "=", externalTxId)
      .forUpdate()
      .executeTakeFirst();
    if (!row || (row.custody_tx_id !== null && row.custody_tx_id !== s.id)) return false;
    const forward = movesForward(row.custody_status, s.status);
    await trx
      .updateTable("chain_transactions")
      .set({
        custody_tx_id: s.id,
        custody_checked_at: sql<Date>`now()`,
        ...(row.status === "intent" ? { status: "broadcast", signed_at: sql<Date>`now()` } : {}),
        ...(forward ? { custody_status: s.status, custody_sub_status: s.subStatus || null } : {}),
        // A hash learnt late (from a stale event) still fills an empty one.
        ...(s.txHash ? { tx_hash: forward ? s.txHash : sql<string>`coalesce(tx_hash, ${s.txHash})` } : {}),
      })
      .where("intent_key", "=", row.intent_key)
      .execute();
    return true;
  });
}
