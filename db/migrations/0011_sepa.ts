import { sql, type Kysely } from "kysely";

// SEPA Direct Debit: mandates (one debtor account per investor and signature), monthly
// subscriptions collected under a mandate, one debit per subscription and period (the unique
// key that makes a period impossible to collect twice), and the pain.008 collection files,
// each stored before it is submitted so a retry sends the very same bytes.

// Calendar dates as YYYY-MM-DD text: pg would read a `date` back as a Date at local midnight.
const isoDate = (column: string) => sql`${sql.ref(column)} ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'`;

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("sepa_mandates")
    .addColumn("mandate_ref", "text", (c) => c.primaryKey())
    .addColumn("investor_id", "text", (c) => c.notNull().references("investors.id"))
    .addColumn("creditor_id", "text", (c) => c.notNull())
    .addColumn("iban", "text", (c) => c.notNull())
    .addColumn("bic", "text")
    .addColumn("debtor_name", "text", (c) => c.notNull())
    .addColumn("signature_date", "text", (c) => c.notNull().check(isoDate("signature_date")))
    .addColumn("status", "text", (c) => c.notNull().defaultTo("active").check(sql`status in ('active', 'revoked')`))
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("revoked_at", "timestamptz")
    // A create without a mandateRef is found again by what it describes.
    .addUniqueConstraint("sepa_mandates_natural_uq", ["investor_id", "iban", "signature_date"])
    .execute();

  await db.schema
    .createTable("sepa_subscriptions")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("investor_id", "text", (c) => c.notNull().references("investors.id"))
    .addColumn("mandate_ref", "text", (c) => c.notNull().references("sepa_mandates.mandate_ref"))
    .addColumn("token_address", "text", (c) => c.notNull())
    .addColumn("amount", sql`numeric(11, 2)`, (c) => c.notNull().check(sql`amount > 0`))
    .addColumn("token_amount_per_eur", sql`numeric(78, 0)`, (c) => c.notNull().check(sql`token_amount_per_eur > 0`))
    .addColumn("day_of_month", "integer", (c) => c.notNull().check(sql`day_of_month between 1 and 28`))
    .addColumn("start_period", "text", (c) => c.notNull())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint("sepa_subscriptions_natural_uq", ["mandate_ref", "token_address"])
    .execute();

  await db.schema
    .createTable("sepa_collections")
    .addColumn("id", "bigserial", (c) => c.primaryKey())
    .addColumn("msg_id", "text", (c) => c.unique())
    .addColumn("collection_date", "text", (c) => c.notNull().check(isoDate("collection_date")))
    .addColumn("status", "text", (c) => c.notNull().defaultTo("built").check(sql`status in ('built', 'submitted')`))
    .addColumn("document", "text", (c) => c.notNull())
    .addColumn("tx_count", "integer", (c) => c.notNull())
    .addColumn("control_sum", sql`numeric(18, 2)`, (c) => c.notNull())
    .addColumn("bank_file_id", "text")
    .addColumn("submissions", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("created_at", "timestamptz", (c) => c.notNull())
    .addColumn("submitted_at", "timestamptz")
    .execute();

  await db.schema
    .createTable("sepa_debits")
    .addColumn("id", "bigserial", (c) => c.primaryKey())
    .addColumn("subscription_id", "text", (c) => c.notNull().references("sepa_subscriptions.id"))
    .addColumn("period", "text", (c) => c.notNull())
    .addColumn("mandate_ref", "text", (c) => c.notNull().references("sepa_mandates.mandate_ref"))
    .addColumn("order_reference", "text", (c) => c.notNull().unique().references("orders.reference_id"))
    .addColumn("end_to_end_id", "text", (c) => c.notNull().unique())
    .addColumn("amount", sql`numeric(11, 2)`, (c) => c.notNull())
    .addColumn("sequence_type", "text", (c) => c.notNull().check(sql`sequence_type in ('FRST', 'RCUR')`))
    .addColumn("due_date", "text", (c) => c.notNull().check(isoDate("due_date")))
    .addColumn("collection_date", "text", (c) => c.notNull().check(isoDate("collection_date")))
    .addColumn("collection_id", "int8", (c) => c.references("sepa_collections.id"))
    .addColumn("status", "text", (c) => c.notNull().defaultTo("pending").check(sql`status in ('pending', 'submitted', 'settled', 'rejected', 'returned')`))
    .addColumn("reason_code", "text")
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint("sepa_debits_period_uq", ["subscription_id", "period"])
    .execute();
  await db.schema.createIndex("sepa_debits_open_idx").on("sepa_debits").columns(["status", "collection_date"]).execute();
  await db.schema.createIndex("sepa_debits_mandate_idx").on("sepa_debits").columns(["mandate_ref", "id"]).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ["sepa_debits", "sepa_collections", "sepa_subscriptions", "sepa_mandates"]) await db.schema.dropTable(t).execute();
}
