import { UnrecoverableError } from "bullmq";
import { type Kysely, sql } from "kysely";
import { formatEther, formatGwei, type Address } from "viem";
import { createTransactionOnce, type FireblocksApi } from "../clients/fireblocks-api.js";
import { movesForward } from "../clients/fireblocks.js";
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
  /** CHAIN_MAX_FEE_PER_GAS, handed to Fireblocks as `maxFee` (it never prices above it). */
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
 * from the signer vault to the intent's contract, with the intent key as `externalTxId`.
 * Fireblocks accepts an externalTxId once, so a retry after a crash or a lost answer meets the
 * refusal and finds the transaction its earlier attempt created (createTransactionOnce):
 * never two on chain for one intent. Fireblocks picks the nonce and the fee (`MEDIUM`, capped
 * at CHAIN_MAX_FEE_PER_GAS) and broadcasts; the {@link FireblocksIntentMonitor} learns the
 * outcome from its webhooks or by asking.
 */
export class FireblocksSigner implements CustodySigner {
  readonly address: Address;
  private addressChecked: Promise<void> | undefined;

  constructor(private readonly opts: FireblocksSignerOptions) {
    this.address = opts.address;
  }

  async submit(row: IntentRow): Promise<IntentRow> {
    const { api, db, log } = this.opts;
    await this.checkAddress();
    const created = await createTransactionOnce(api, {
      operation: "CONTRACT_CALL",
      externalTxId: row.intent_key,
      assetId: this.opts.assetId,
      // Exact: formatEther of a bigint is a decimal string, never a float.
      amount: formatEther(BigInt(row.value)),
      source: { type: "VAULT_ACCOUNT", id: this.opts.vaultId },
      destination: { type: "ONE_TIME_ADDRESS", oneTimeAddress: { address: row.to_address } },
      note: `hookrail ${row.intent_key}`,
      extraParameters: { contractCallData: row.data },
      feeLevel: "MEDIUM",
      ...(this.opts.maxFeePerGas !== undefined ? { maxFee: formatGwei(this.opts.maxFeePerGas) } : {}),
    });
    await this.opts.hooks?.afterCustodyCreated?.(row.intent_key);
    await recordCustodyStatus(db, row.intent_key, created);
    const stored = await db.selectFrom("chain_transactions").selectAll().where("intent_key", "=", row.intent_key).executeTakeFirstOrThrow();
    log.info({ intentKey: row.intent_key, fireblocksTxId: created.id, existing: created.existing }, "intent submitted to Fireblocks");
    return stored;
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
 * Record what Fireblocks says of an intent's transaction (the intent key is its externalTxId):
 * links it if unlinked, moves `intent` on to `broadcast` (handed over), and keeps the status
 * moving forward only, so a late webhook never undoes a newer lookup. Only the transaction
 * linked to the intent counts: a different Fireblocks transaction claiming the same key is
 * ignored. Returns whether this intent is ours and the status was applied.
 */
export async function recordCustodyStatus(db: Kysely<Database>, intentKey: string, s: CustodyStatus): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .selectFrom("chain_transactions")
      .select(["custody_tx_id", "custody_status", "status"])
      .where("intent_key", "=", intentKey)
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
      .where("intent_key", "=", intentKey)
      .execute();
    return true;
  });
}
