import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  // Every broker event ever received, once per message_id, with its place in its group.
  await db.schema
    .createTable("broker_events")
    .addColumn("message_id", "text", (c) => c.primaryKey())
    .addColumn("message_group_id", "text", (c) => c.notNull())
    .addColumn("sequence", "bigint", (c) => c.notNull())
    .addColumn("event_type", "text", (c) => c.notNull())
    .addColumn("event_domain", "text", (c) => c.notNull())
    .addColumn("event_schema", "text", (c) => c.notNull())
    .addColumn("event_version", "text", (c) => c.notNull())
    .addColumn("published_at", "timestamptz", (c) => c.notNull())
    .addColumn("published_at_raw", "text", (c) => c.notNull())
    .addColumn("payload", "jsonb", (c) => c.notNull())
    .addColumn("source_queue", "text", (c) => c.notNull())
    .addColumn("received_at", "timestamptz", (c) => c.notNull())
    .addColumn("stored_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    // Filled when the event's turn in its group comes.
    .addColumn("outcome", "text")
    .addColumn("entity_kind", "text")
    .addColumn("entity_id", "text")
    .addColumn("logical_key", "text")
    .addColumn("duplicate_of", "text")
    .addColumn("applied_at", "timestamptz")
    .addColumn("applied_rank", "bigint")
    .addUniqueConstraint("broker_events_group_sequence_key", ["message_group_id", "sequence"])
    .execute();
  // One version of a logical event changes entity state; the others are kept and marked.
  await sql`create unique index broker_events_applied_logical_key on broker_events (logical_key) where outcome = 'applied'`.execute(db);
  // The order in which events were applied, across all workers (tests read it back).
  await sql`create sequence broker_apply_rank`.execute(db);

  // How far each message group has been applied; its row is the group's lock.
  await db.schema
    .createTable("broker_groups")
    .addColumn("message_group_id", "text", (c) => c.primaryKey())
    .addColumn("next_sequence", "bigint", (c) => c.notNull().defaultTo(1))
    .addColumn("applied_count", "bigint", (c) => c.notNull().defaultTo(0))
    .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  // Current state of each order, transfer, allocation, gift, batch, currency batch and manual
  // adjustment, keyed by the id in its payload.
  await db.schema
    .createTable("broker_entities")
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("entity_id", "text", (c) => c.notNull())
    .addColumn("status", "text")
    .addColumn("state", "jsonb", (c) => c.notNull())
    .addColumn("last_message_id", "text", (c) => c.notNull())
    .addColumn("last_event_type", "text", (c) => c.notNull())
    .addColumn("last_published_at", "timestamptz", (c) => c.notNull())
    .addColumn("applied_count", "integer", (c) => c.notNull().defaultTo(1))
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint("broker_entities_pk", ["kind", "entity_id"])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("broker_entities").execute();
  await db.schema.dropTable("broker_groups").execute();
  await sql`drop sequence broker_apply_rank`.execute(db);
  await db.schema.dropTable("broker_events").execute();
}
