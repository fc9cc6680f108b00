import { sql, type Kysely } from "kysely";

// Investors and their KYC history, orders paid by bank/broker payments and fulfilled by a
// mint, the exactly-once chain transaction ledger with its per-signer nonce row, and custody
// (Fireblocks) transactions. Money and token amounts are numeric: exact, read back as strings.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("investors")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("wallet", "text", (c) => c.notNull())
    .addColumn("first_name", "text", (c) => c.notNull())
    .addColumn("last_name", "text", (c) => c.notNull())
    .addColumn("date_of_birth", "text", (c) => c.notNull())
    .addColumn("nationality", "text", (c) => c.notNull())
    .addColumn("bakkt_party_ref", "text", (c) => c.unique())
    .addColumn("kyc_status", "text", (c) => c.notNull().defaultTo("pending"))
    // Provider time of the last applied KYC event: an older event never overwrites it.
    .addColumn("kyc_event_at", "timestamptz")
    .addColumn("kyc_details", "jsonb")
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable("kyc_events")
    .addColumn("id", "bigserial", (c) => c.primaryKey())
    .addColumn("event_key", "text", (c) => c.notNull().unique())
    .addColumn("investor_id", "text", (c) => c.notNull().references("investors.id"))
    .addColumn("source", "text", (c) => c.notNull())
    .addColumn("event_type", "text", (c) => c.notNull())
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("previous_status", "text")
    .addColumn("applied", "boolean", (c) => c.notNull())
    .addColumn("event_at", "timestamptz", (c) => c.notNull())
    .addColumn("details", "jsonb")
    .addColumn("job_id", "text")
    .addColumn("recorded_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex("kyc_events_investor").on("kyc_events").columns(["investor_id", "id"]).execute();

  await db.schema
    .createTable("orders")
    .addColumn("reference_id", "text", (c) => c.primaryKey())
    .addColumn("investor_id", "text", (c) => c.notNull().references("investors.id"))
    .addColumn("token_address", "text", (c) => c.notNull())
    .addColumn("token_amount", sql`numeric(78, 0)`, (c) => c.notNull())
    .addColumn("expected_amount", "numeric", (c) => c.notNull())
    .addColumn("currency", "text", (c) => c.notNull())
    .addColumn("status", "text", (c) =>
      c.notNull().defaultTo("pending").check(sql`status in ('pending', 'awaiting_kyc', 'minting', 'completed', 'failed', 'flagged', 'mint_failed')`),
    )
    .addColumn("payment_source", "text")
    .addColumn("payment_proof", "text")
    .addColumn("paid_amount", "numeric")
    .addColumn("paid_currency", "text")
    .addColumn("flag_reason", "text")
    .addColumn("failure_reason", "text")
    .addColumn("mint_tx_hash", "text")
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("paid_at", "timestamptz")
    .addColumn("completed_at", "timestamptz")
    .execute();
  await db.schema.createIndex("orders_investor_status").on("orders").columns(["investor_id", "status"]).execute();

  await db.schema
    .createTable("signer_nonces")
    .addColumn("chain_id", "integer", (c) => c.notNull())
    .addColumn("address", "text", (c) => c.notNull())
    .addColumn("next_nonce", "int8", (c) => c.notNull())
    .addPrimaryKeyConstraint("signer_nonces_pk", ["chain_id", "address"])
    .execute();

  await db.schema
    .createTable("chain_transactions")
    .addColumn("intent_key", "text", (c) => c.primaryKey())
    .addColumn("chain_id", "integer", (c) => c.notNull())
    .addColumn("from_address", "text", (c) => c.notNull())
    .addColumn("to_address", "text", (c) => c.notNull())
    .addColumn("data", "text", (c) => c.notNull())
    .addColumn("value", sql`numeric(78, 0)`, (c) => c.notNull().defaultTo(0))
    .addColumn("status", "text", (c) => c.notNull().defaultTo("intent").check(sql`status in ('intent', 'signed', 'broadcast', 'confirmed', 'reverted')`))
    .addColumn("nonce", "int8")
    .addColumn("raw_tx", "text")
    .addColumn("tx_hash", "text", (c) => c.unique())
    .addColumn("block_number", "int8")
    .addColumn("broadcasts", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("signed_at", "timestamptz")
    .addColumn("confirmed_at", "timestamptz")
    // Two intents can never share a nonce, whatever the code does.
    .addUniqueConstraint("chain_transactions_nonce_unique", ["chain_id", "from_address", "nonce"])
    .execute();
  await db.schema.createIndex("chain_transactions_open").on("chain_transactions").columns(["status", "nonce"]).execute();

  await db.schema
    .createTable("custody_transactions")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("status_rank", "integer", (c) => c.notNull())
    .addColumn("sub_status", "text")
    .addColumn("tx_hash", "text")
    .addColumn("last_event_at", "timestamptz")
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("finished_at", "timestamptz")
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ["custody_transactions", "chain_transactions", "signer_nonces", "orders", "kyc_events", "investors"]) {
    await db.schema.dropTable(t).execute();
  }
}
