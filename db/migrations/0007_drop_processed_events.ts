import { sql, type Kysely } from "kysely";

/**
 * `processed_events` was meant to record that an event was handled, but no processor ever
 * wrote it: what stops a double effect is each feature's own unique key (orders by payment
 * proof, kyc_events.event_key, custody_transactions.id, broker_events.message_id, one
 * chain_transactions row per intent key, aml_screenings per investor and period).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("processed_events").ifExists().execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("processed_events")
    .addColumn("queue", "text", (c) => c.notNull())
    .addColumn("event_key", "text", (c) => c.notNull())
    .addColumn("job_id", "text", (c) => c.notNull())
    .addColumn("processed_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint("processed_events_pk", ["queue", "event_key"])
    .execute();
}
