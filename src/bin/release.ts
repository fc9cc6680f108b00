import { loadProcessConfig } from "../processes/config.js";
import { openDatabase } from "../db/client.js";
import { migrateToLatest } from "../db/migrate.js";
import { exitOnStartupError } from "../lifecycle/shutdown.js";
import { createLogger } from "../log.js";

// The Procfile's release phase: bring the database schema up to date, then exit.
try {
  const config = loadProcessConfig();
  const log = createLogger(config.LOG_LEVEL, { process: "release" });
  const dbh = await openDatabase({ databaseUrl: config.DATABASE_URL, schema: config.DATABASE_SCHEMA, pgliteDir: config.PGLITE_DIR });
  try {
    const result = await migrateToLatest(dbh.db, config.DATABASE_SCHEMA);
    const applied = (result.results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
    log.info({ applied, database: dbh.kind }, applied.length ? "migrations applied" : "database already up to date");
  } finally {
    await dbh.close();
  }
} catch (err) {
  exitOnStartupError(err);
}
