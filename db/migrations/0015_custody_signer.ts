import { sql, type Kysely } from "kysely";

/**
 * Fireblocks as a signer (SIGNER_BACKEND=fireblocks): an intent is submitted to Fireblocks as a
 * CONTRACT_CALL, and Fireblocks signs, prices and broadcasts it. chain_transactions gains the
 * externalTxId the intent is handed over under (written before the create, unique: Fireblocks
 * takes each once), the Fireblocks transaction's id (unique: one per intent), its last known
 * status and substatus, and when that status was last heard of (webhook or lookup; a late
 * one is looked up). A transaction Fireblocks ends without putting
 * it on chain (rejected, blocked by policy, cancelled, failed before broadcast) is `failed`:
 * final, and nothing happened on chain.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table chain_transactions drop constraint if exists chain_transactions_status_check`.execute(db);
  await db.schema
    .alterTable("chain_transactions")
    .addCheckConstraint("chain_transactions_status_check", sql`status in ('intent', 'signed', 'broadcast', 'mined', 'confirmed', 'reverted', 'failed')`)
    .execute();
  await db.schema
    .alterTable("chain_transactions")
    .addColumn("custody_external_id", "text", (c) => c.unique())
    .addColumn("custody_tx_id", "text", (c) => c.unique())
    .addColumn("custody_status", "text")
    .addColumn("custody_sub_status", "text")
    .addColumn("custody_checked_at", "timestamptz")
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable("chain_transactions")
    .dropColumn("custody_checked_at")
    .dropColumn("custody_sub_status")
    .dropColumn("custody_status")
    .dropColumn("custody_tx_id")
    .dropColumn("custody_external_id")
    .execute();
  await sql`alter table chain_transactions drop constraint if exists chain_transactions_status_check`.execute(db);
  await db.schema
    .alterTable("chain_transactions")
    .addCheckConstraint("chain_transactions_status_check", sql`status in ('intent', 'signed', 'broadcast', 'mined', 'confirmed', 'reverted')`)
    .execute();
}
