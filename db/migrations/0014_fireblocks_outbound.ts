import { sql, type Kysely } from "kysely";

/**
 * Fireblocks outbound.
 * - investors gain their custody vault (created by the custody-vaults job once KYC approves
 *   them) and the deposit address of its asset wallet. The unique index means two investors
 *   can never claim one vault.
 * - custody_transfers: transfers out of custody we asked for, one row per our id (which is the
 *   Fireblocks externalTxId); `fireblocks_tx_id` links the Fireblocks transaction once created,
 *   whose lifecycle custody_transactions follows from the webhooks.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable("investors")
    .addColumn("custody_vault_id", "text")
    .addColumn("custody_asset_id", "text")
    .addColumn("custody_deposit_address", "text")
    .addColumn("custody_vault_created_at", "timestamptz")
    .execute();
  await db.schema
    .createIndex("investors_custody_vault_uq")
    .on("investors")
    .column("custody_vault_id")
    .unique()
    .where(sql.ref("custody_vault_id"), "is not", null)
    .execute();

  await db.schema
    .createTable("custody_transfers")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("vault_id", "text", (c) => c.notNull())
    .addColumn("asset_id", "text", (c) => c.notNull())
    // numeric without a scale keeps the decimal exactly as requested.
    .addColumn("amount", "numeric", (c) => c.notNull().check(sql`amount > 0`))
    .addColumn("destination", "jsonb", (c) => c.notNull())
    .addColumn("fireblocks_tx_id", "text", (c) => c.unique())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("submitted_at", "timestamptz")
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("custody_transfers").execute();
  await db.schema.dropIndex("investors_custody_vault_uq").execute();
  await db.schema
    .alterTable("investors")
    .dropColumn("custody_vault_created_at")
    .dropColumn("custody_deposit_address")
    .dropColumn("custody_asset_id")
    .dropColumn("custody_vault_id")
    .execute();
}
