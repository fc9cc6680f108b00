import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  // One screening per investor and period: the unique key is what makes a second run of the
  // same period change nothing.
  await db.schema
    .createTable("aml_screenings")
    .addColumn("id", "bigserial", (c) => c.primaryKey())
    .addColumn("investor_id", "text", (c) => c.notNull())
    .addColumn("period", "text", (c) => c.notNull())
    .addColumn("outcome", "text", (c) => c.notNull().check(sql`outcome in ('clean', 'hit')`))
    .addColumn("search_id", "text", (c) => c.notNull())
    .addColumn("total_hits", "integer", (c) => c.notNull())
    .addColumn("match_count", "integer", (c) => c.notNull())
    .addColumn("screened_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint("aml_screenings_investor_period_uq", ["investor_id", "period"])
    .execute();
  await db.schema
    .createTable("aml_alerts")
    .addColumn("id", "bigserial", (c) => c.primaryKey())
    .addColumn("investor_id", "text", (c) => c.notNull())
    .addColumn("screening_id", "bigint", (c) => c.notNull().unique().references("aml_screenings.id"))
    .addColumn("alert_type", "text", (c) => c.notNull())
    .addColumn("match_data", "jsonb", (c) => c.notNull())
    .addColumn("status", "text", (c) => c.notNull().defaultTo("pending_review"))
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex("aml_alerts_investor_idx").on("aml_alerts").columns(["investor_id", "status"]).execute();
  await db.schema
    .alterTable("investors")
    .addColumn("aml_risk", "text", (c) => c.notNull().defaultTo("unscreened"))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("investors").dropColumn("aml_risk").execute();
  await db.schema.dropTable("aml_alerts").execute();
  await db.schema.dropTable("aml_screenings").execute();
}
