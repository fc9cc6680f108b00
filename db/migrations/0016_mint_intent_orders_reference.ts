import type { Kysely } from "kysely";

/**
 * mint_intent_orders by order: every mint job reads an order's carriers (its live intent and
 * how many were retired by retries), and the mint finality handler asks, per order it
 * completes, whether the order was ever retried. The primary key leads with intent_key and the
 * unique index on reference_id covers only live rows, so both read the whole table (a
 * sequential scan per order, growing with every order minted) until this index.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex("mint_intent_orders_reference").on("mint_intent_orders").column("reference_id").execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex("mint_intent_orders_reference").execute();
}
