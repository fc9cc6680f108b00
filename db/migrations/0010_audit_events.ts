import { sql, type Kysely } from "kysely";

const ORDER_STATUSES = ["pending", "awaiting_kyc", "minting", "completed", "failed", "flagged", "mint_failed"];

export async function up(db: Kysely<any>): Promise<void> {
  // Who did what to which target, when, from where, and how it ended. Append-only.
  await db.schema
    .createTable("audit_events")
    .addColumn("id", "bigserial", (c) => c.primaryKey())
    .addColumn("at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("actor", "text", (c) => c.notNull())
    .addColumn("actor_kind", "text", (c) => c.notNull().check(sql`actor_kind in ('oidc', 'saml', 'basic', 'token')`))
    .addColumn("role", "text")
    .addColumn("action", "text", (c) => c.notNull())
    .addColumn("target", "text")
    .addColumn("ip", "text")
    .addColumn("result", "text", (c) => c.notNull())
    .addColumn("detail", "jsonb")
    .execute();
  await db.schema.createIndex("audit_events_at").on("audit_events").column("at").execute();
  await db.schema.createIndex("audit_events_actor_at").on("audit_events").columns(["actor", "at"]).execute();
  // A flagged order an operator cancels waits for its refund.
  await sql`alter table orders drop constraint orders_status_check`.execute(db);
  await sql`alter table orders add constraint orders_status_check check (status in (${sql.join([...ORDER_STATUSES, "refund_pending"].map((s) => sql.lit(s)))}))`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table orders drop constraint orders_status_check`.execute(db);
  await sql`alter table orders add constraint orders_status_check check (status in (${sql.join(ORDER_STATUSES.map((s) => sql.lit(s)))}))`.execute(db);
  await db.schema.dropTable("audit_events").execute();
}
