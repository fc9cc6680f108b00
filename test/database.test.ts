import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { openDatabase, type DbHandle } from "../src/db/client.js";
import { migrateToLatest } from "../src/db/migrate.js";
import { cleanup, TEST_DATABASE_URL, uniqueName } from "./helpers/env.js";
import { startTcpProxy } from "./helpers/tcp-proxy.js";

const name = uniqueName("db");
const pgliteDir = mkdtempSync(join(tmpdir(), "hookrail-pglite-"));

async function exercise(dbh: DbHandle, schema: string | undefined) {
  const first = await migrateToLatest(dbh.db, schema);
  expect(first.results?.map((r) => r.status)).toContain("Success");
  const second = await migrateToLatest(dbh.db, schema);
  expect(second.results).toEqual([]);
  // A feature's unique key is what turns a redelivery into a no-op (here: one KYC event per key).
  await dbh.db
    .insertInto("investors")
    .values({
      id: "inv-1",
      wallet: "0x0000000000000000000000000000000000000001",
      first_name: "A",
      last_name: "B",
      date_of_birth: "1990-01-01",
      nationality: "DE",
    })
    .execute();
  const kycEvent = (jobId: string) => ({
    event_key: "sumsub:k1",
    investor_id: "inv-1",
    source: "sumsub" as const,
    event_type: "applicantReviewed",
    status: "approved" as const,
    previous_status: "pending" as const,
    applied: true,
    event_at: new Date(),
    details: "{}",
    job_id: jobId,
  });
  await dbh.db.insertInto("kyc_events").values(kycEvent("j1")).execute();
  await expect(dbh.db.insertInto("kyc_events").values(kycEvent("j2")).execute()).rejects.toThrow(/duplicate key/);
  // processed_events was never written by any processor and is dropped by migration 0007.
  const { rows: leftovers } =
    await sql`select 1 from information_schema.tables where table_name = 'processed_events' and table_schema = current_schema()`.execute(dbh.db);
  expect(leftovers).toEqual([]);
  const { rows } = await sql<{ big: unknown; exact: unknown }>`select 9007199254740993::int8 as big, 100.10::numeric(20,2) as exact`.execute(dbh.db);
  return rows[0]!;
}

describe("database", () => {
  afterAll(async () => {
    await cleanup(name);
    rmSync(pgliteDir, { recursive: true, force: true });
  });

  it("migrates Postgres in its own schema; int8 and numeric come back as exact strings", async () => {
    const dbh = await openDatabase({ databaseUrl: TEST_DATABASE_URL, schema: name, pgliteDir: "" });
    try {
      expect(dbh.kind).toBe("postgres");
      expect(await exercise(dbh, name)).toEqual({ big: "9007199254740993", exact: "100.10" });
    } finally {
      await dbh.close();
    }
  });

  it("runs the same migrations on embedded PGlite with the same types", async () => {
    const dbh = await openDatabase({ pgliteDir });
    try {
      expect(dbh.kind).toBe("pglite");
      expect(await exercise(dbh, undefined)).toEqual({ big: "9007199254740993", exact: "100.10" });
    } finally {
      await dbh.close();
    }
  });

  it("a connection lost while a query runs fails that query, never crashes the process, and the pool reconnects", async () => {
    const url = new URL(TEST_DATABASE_URL);
    const proxy = await startTcpProxy(url.hostname, Number(url.port || 5432));
    url.hostname = "127.0.0.1";
    url.port = String(proxy.port);
    const dbh = await openDatabase({ databaseUrl: url.toString(), schema: name, pgliteDir: "" });
    // An "error" event without a listener would be thrown from the socket handler.
    const uncaught: unknown[] = [];
    const record = (err: unknown) => uncaught.push(err);
    process.on("uncaughtException", record);
    try {
      // A checked-out client mid-transaction, and one running a query, when the link drops.
      const inTransaction = dbh.db.transaction().execute(async (trx) => {
        await sql`select 1`.execute(trx);
        await sql`select pg_sleep(5)`.execute(trx);
      });
      const running = sql`select pg_sleep(5)`.execute(dbh.db);
      await new Promise((r) => setTimeout(r, 300));
      proxy.cut();
      const [tx, query] = await Promise.allSettled([inTransaction, running]);
      expect(tx.status === "rejected" && String(tx.reason)).toMatch(/terminated|not queryable|ECONNRESET/i);
      expect(query.status === "rejected" && String(query.reason)).toMatch(/terminated|not queryable|ECONNRESET/i);
      await new Promise((r) => setTimeout(r, 100));
      expect(uncaught).toEqual([]);
      proxy.restore();
      const { rows } = await sql<{ one: number }>`select 1 as one`.execute(dbh.db);
      expect(rows).toEqual([{ one: 1 }]);
    } finally {
      process.off("uncaughtException", record);
      await dbh.close();
      await proxy.close();
    }
  });
});
