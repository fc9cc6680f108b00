import { sql, type Kysely } from "kysely";

/**
 * The production chain: a transaction is watched until it has enough confirmations, may be
 * replaced (same nonce, higher fees) and may be reorged out and mined again.
 * - chain_transactions (one row per intent) gains the `mined` state (a receipt seen, not yet
 *   confirmed deeply enough), the current version's fees and gas, the head when that version
 *   was broadcast (replacement counts blocks from it), and where the intent actually mined.
 * - chain_tx_versions keeps every signed version of an intent (one nonce, several fees):
 *   whichever mines is recorded as the intent's `mined_hash`.
 * - mint_intent_orders maps orders to the mint intent (one order or a batch) that carries
 *   them. The partial unique index is the rule "one live mint intent per order": a second
 *   one can only be made after the first reverted on chain (and so minted nothing).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table chain_transactions drop constraint if exists chain_transactions_status_check`.execute(db);
  await db.schema
    .alterTable("chain_transactions")
    .addCheckConstraint("chain_transactions_status_check", sql`status in ('intent', 'signed', 'broadcast', 'mined', 'confirmed', 'reverted')`)
    .execute();
  await db.schema
    .alterTable("chain_transactions")
    .addColumn("version", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("gas_limit", sql`numeric(78, 0)`)
    .addColumn("max_fee_per_gas", sql`numeric(78, 0)`)
    .addColumn("max_priority_fee_per_gas", sql`numeric(78, 0)`)
    .addColumn("broadcast_block", "int8")
    .addColumn("mined_hash", "text")
    .addColumn("block_hash", "text")
    .addColumn("receipt_status", "text", (c) => c.check(sql`receipt_status in ('success', 'reverted')`))
    .addColumn("stuck", "boolean", (c) => c.notNull().defaultTo(false))
    .addColumn("reorgs", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
  // Rows from before this migration were final at their first receipt.
  await sql`update chain_transactions set mined_hash = tx_hash, receipt_status = case status when 'confirmed' then 'success' else 'reverted' end
             where status in ('confirmed', 'reverted')`.execute(db);
  await db.schema.createIndex("chain_transactions_signer_open").on("chain_transactions").columns(["chain_id", "from_address", "status"]).execute();

  await db.schema
    .createTable("chain_tx_versions")
    .addColumn("intent_key", "text", (c) => c.notNull().references("chain_transactions.intent_key").onDelete("cascade"))
    .addColumn("version", "integer", (c) => c.notNull())
    .addColumn("tx_hash", "text", (c) => c.notNull().unique())
    .addColumn("raw_tx", "text", (c) => c.notNull())
    .addColumn("max_fee_per_gas", sql`numeric(78, 0)`, (c) => c.notNull())
    .addColumn("max_priority_fee_per_gas", sql`numeric(78, 0)`, (c) => c.notNull())
    .addColumn("signed_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint("chain_tx_versions_pk", ["intent_key", "version"])
    .execute();
  await sql`insert into chain_tx_versions (intent_key, version, tx_hash, raw_tx, max_fee_per_gas, max_priority_fee_per_gas, signed_at)
            select intent_key, 0, tx_hash, raw_tx, 0, 0, coalesce(signed_at, created_at) from chain_transactions where raw_tx is not null`.execute(db);

  await db.schema
    .createTable("mint_intent_orders")
    .addColumn("reference_id", "text", (c) => c.notNull().references("orders.reference_id"))
    .addColumn("intent_key", "text", (c) => c.notNull().references("chain_transactions.intent_key"))
    .addColumn("live", "boolean", (c) => c.notNull().defaultTo(true))
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint("mint_intent_orders_pk", ["intent_key", "reference_id"])
    .execute();
  await db.schema.createIndex("mint_intent_orders_live").on("mint_intent_orders").column("reference_id").unique().where(sql.ref("live"), "=", true).execute();
  // Mints from before this migration: one intent per order, keyed `mint:<reference>`.
  await sql`insert into mint_intent_orders (reference_id, intent_key, live)
            select o.reference_id, t.intent_key, t.status <> 'reverted' from orders o join chain_transactions t on t.intent_key = 'mint:' || o.reference_id`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("mint_intent_orders").execute();
  await db.schema.dropTable("chain_tx_versions").execute();
  await db.schema.dropIndex("chain_transactions_signer_open").execute();
  await db.schema
    .alterTable("chain_transactions")
    .dropColumn("reorgs")
    .dropColumn("stuck")
    .dropColumn("receipt_status")
    .dropColumn("block_hash")
    .dropColumn("mined_hash")
    .dropColumn("broadcast_block")
    .dropColumn("max_priority_fee_per_gas")
    .dropColumn("max_fee_per_gas")
    .dropColumn("gas_limit")
    .dropColumn("version")
    .execute();
}
