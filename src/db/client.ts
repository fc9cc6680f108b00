import { Kysely, PostgresDialect, sql } from "kysely";
import pg from "pg";
import type { Database } from "./schema.js";

export interface DbHandle {
  db: Kysely<Database>;
  kind: "postgres" | "pglite";
  close(): Promise<void>;
}

export interface DbOptions {
  databaseUrl?: string;
  /** Postgres schema to use (created if missing); tests give each file its own. */
  schema?: string;
  pgliteDir: string;
  poolSize?: number;
}

/** Postgres when a URL is given, embedded PGlite otherwise (one process per directory). */
export async function openDatabase(opts: DbOptions): Promise<DbHandle> {
  if (opts.databaseUrl) return openPostgres(opts.databaseUrl, opts.schema, opts.poolSize ?? 10);
  return openPglite(opts.pgliteDir, opts.schema);
}

async function openPostgres(url: string, schema: string | undefined, max: number): Promise<DbHandle> {
  if (schema) {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await admin.query(`create schema if not exists "${schema}"`);
    } finally {
      await admin.end();
    }
  }
  const pool = new pg.Pool({
    connectionString: url,
    max,
    connectionTimeoutMillis: 5_000,
    ...(schema ? { options: `-c search_path="${schema}"` } : {}),
  });
  // A client losing its server must not crash the process. pg-pool listens for errors only
  // on idle clients (the pool's "error" event); a client checked out by a running query or
  // transaction emits "error" on itself, with no listener, when its connection drops — and an
  // unhandled "error" event kills the process (every worker, on a Postgres restart or network
  // blip). Its queries fail anyway (the job retries) and the pool discards it on release.
  pool.on("error", () => {});
  pool.on("connect", (client) => client.on("error", () => {}));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, kind: "postgres", close: () => db.destroy() };
}

async function openPglite(dir: string, schema: string | undefined): Promise<DbHandle> {
  const [{ PGlite, types }, { PGliteDialect }] = await Promise.all([import("@electric-sql/pglite"), import("kysely-pglite-dialect")]);
  // pg returns int8 and numeric as strings (no precision loss); make PGlite agree.
  const client = await PGlite.create(dir, {
    parsers: { [types.INT8]: (v: string) => v, [types.NUMERIC]: (v: string) => v },
  });
  const db = new Kysely<Database>({ dialect: new PGliteDialect(client) });
  if (schema) {
    await sql.raw(`create schema if not exists "${schema}"`).execute(db);
    await sql.raw(`set search_path to "${schema}"`).execute(db);
  }
  return { db, kind: "pglite", close: () => db.destroy() };
}
