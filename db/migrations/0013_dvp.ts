import { sql, type Kysely } from "kysely";

// 'refund_pending' comes from 0010 (flagged orders cancelled): kept by both.
const OLD_STATUSES = sql`status in ('pending', 'awaiting_kyc', 'minting', 'completed', 'failed', 'flagged', 'mint_failed', 'refund_pending')`;
const NEW_STATUSES = sql`status in ('pending', 'awaiting_kyc', 'minting', 'completed', 'failed', 'flagged', 'mint_failed', 'refund_pending', 'awaiting_allowance', 'settling', 'expired')`;

/**
 * The stablecoin rail: an order paid by delivery versus payment on chain.
 * - orders gain the rail, the cash leg (stablecoin and exact base units), the seller of a
 *   secondary trade, an expiry, why the order still waits, the settlement's intent and the
 *   hash that mined; and the states `awaiting_allowance` (the buyer has not yet approved
 *   enough, or lacks the balance), `settling` (its settlement job is queued or its transaction
 *   is in flight) and `expired`.
 * - chain_cursors: how far a log watcher has read, only ever over confirmed blocks.
 * - dvp_legs: both legs of each settled order as the contract's events recorded them.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table orders drop constraint if exists orders_status_check`.execute(db);
  await db.schema.alterTable("orders").addCheckConstraint("orders_status_check", NEW_STATUSES).execute();
  await db.schema
    .alterTable("orders")
    .addColumn("rail", "text", (c) => c.notNull().defaultTo("fiat").check(sql`rail in ('fiat', 'stablecoin')`))
    .addColumn("cash_token", "text")
    .addColumn("cash_amount", sql`numeric(78, 0)`)
    .addColumn("seller", "text")
    .addColumn("expires_at", "timestamptz")
    .addColumn("waiting_reason", "text")
    .addColumn("settlement_tx_hash", "text")
    .addColumn("dvp_intent_key", "text")
    .addColumn("dvp_attempt", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("dvp_runs", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("dvp_checked_block", "int8")
    .execute();
  await db.schema.createIndex("orders_dvp_open").on("orders").columns(["status", "cash_token"]).where(sql.ref("rail"), "=", "stablecoin").execute();
  await db.schema.createIndex("orders_dvp_intent").on("orders").column("dvp_intent_key").unique().execute();

  await db.schema
    .createTable("chain_cursors")
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("chain_id", "integer", (c) => c.notNull())
    .addColumn("block_number", "int8", (c) => c.notNull())
    .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint("chain_cursors_pk", ["name", "chain_id"])
    .execute();

  await db.schema
    .createTable("dvp_legs")
    .addColumn("reference_id", "text", (c) => c.notNull().references("orders.reference_id"))
    .addColumn("leg", "text", (c) => c.notNull().check(sql`leg in ('cash', 'delivery')`))
    .addColumn("token", "text", (c) => c.notNull())
    .addColumn("from_address", "text", (c) => c.notNull())
    .addColumn("to_address", "text", (c) => c.notNull())
    .addColumn("amount", sql`numeric(78, 0)`, (c) => c.notNull())
    .addColumn("tx_hash", "text", (c) => c.notNull())
    .addColumn("block_number", "int8", (c) => c.notNull())
    .addColumn("log_index", "integer", (c) => c.notNull())
    .addPrimaryKeyConstraint("dvp_legs_pk", ["reference_id", "leg"])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("dvp_legs").execute();
  await db.schema.dropTable("chain_cursors").execute();
  await db.schema.dropIndex("orders_dvp_intent").execute();
  await db.schema.dropIndex("orders_dvp_open").execute();
  await db.schema
    .alterTable("orders")
    .dropColumn("dvp_checked_block")
    .dropColumn("dvp_runs")
    .dropColumn("dvp_attempt")
    .dropColumn("dvp_intent_key")
    .dropColumn("settlement_tx_hash")
    .dropColumn("waiting_reason")
    .dropColumn("expires_at")
    .dropColumn("seller")
    .dropColumn("cash_token")
    .dropColumn("cash_amount")
    .dropColumn("rail")
    .execute();
  await sql`alter table orders drop constraint if exists orders_status_check`.execute(db);
  await db.schema.alterTable("orders").addCheckConstraint("orders_status_check", OLD_STATUSES).execute();
}
