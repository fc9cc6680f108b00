import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("distributions")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("token_address", "text", (c) => c.notNull())
    .addColumn("record_block", "int8", (c) => c.notNull().check(sql`record_block >= 0`))
    .addColumn("payment_date", "timestamptz", (c) => c.notNull())
    .addColumn("amount_per_token", sql`numeric(78,0)`, (c) => c.notNull().check(sql`amount_per_token > 0`))
    .addColumn("payout_token_address", "text", (c) => c.notNull())
    .addColumn("status", "text", (c) => c.notNull().defaultTo("scheduled").check(sql`status in ('scheduled', 'snapshotting', 'paying', 'completed')`))
    // Fixed at snapshot time so a resumed run builds the very same transactions.
    .addColumn("payout_contract", "text")
    .addColumn("holder_count", "integer")
    .addColumn("total_due", sql`numeric(78,0)`)
    .addColumn("total_paid", sql`numeric(78,0)`, (c) => c.notNull().defaultTo(0))
    // What rounding down left undistributed, exact: payout base units with up to 18 decimals.
    .addColumn("remainder", "numeric")
    .addColumn("registrar_notice_status", "text", (c) =>
      c.notNull().defaultTo("pending").check(sql`registrar_notice_status in ('pending', 'accepted', 'rejected')`),
    )
    .addColumn("registrar_reference", "text")
    .addColumn("registrar_idempotency_key", "text", (c) => c.notNull().unique())
    .addColumn("registrar_attempts", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("registrar_error", "text")
    .addColumn("registrar_notified_at", "timestamptz")
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("snapshot_at", "timestamptz")
    .addColumn("completed_at", "timestamptz")
    // One declaration per token, record block and payout currency: a repeated POST finds it.
    .addUniqueConstraint("distributions_declaration_uq", ["token_address", "record_block", "payout_token_address"])
    .execute();
  await db.schema.createIndex("distributions_due_idx").on("distributions").columns(["status", "payment_date"]).execute();
  await db.schema
    .createTable("distribution_lines")
    .addColumn("distribution_id", "text", (c) => c.notNull().references("distributions.id"))
    .addColumn("holder", "text", (c) => c.notNull())
    .addColumn("balance", sql`numeric(78,0)`, (c) => c.notNull())
    .addColumn("amount", sql`numeric(78,0)`, (c) => c.notNull().check(sql`amount > 0`))
    // Lines of one batch are paid by one transaction (intent_key), all or nothing.
    .addColumn("batch_no", "integer", (c) => c.notNull())
    .addColumn("intent_key", "text", (c) => c.notNull())
    .addColumn("status", "text", (c) => c.notNull().defaultTo("pending").check(sql`status in ('pending', 'paid')`))
    .addColumn("tx_hash", "text")
    .addColumn("paid_at", "timestamptz")
    .addPrimaryKeyConstraint("distribution_lines_pk", ["distribution_id", "holder"])
    .execute();
  await db.schema.createIndex("distribution_lines_batch_idx").on("distribution_lines").columns(["distribution_id", "batch_no"]).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("distribution_lines").execute();
  await db.schema.dropTable("distributions").execute();
}
