import type { Kysely } from "kysely";
import { Migrator, type MigrationResultSet } from "kysely/migration";
import type { Database } from "./schema.js";
import { migrations } from "../../db/migrations/index.js";

/**
 * The migration bookkeeping table is pinned to the same schema as the data: otherwise Kysely
 * may find another schema's table through introspection and skip creating its own.
 */
export async function migrateToLatest(db: Kysely<Database>, schema = "public"): Promise<MigrationResultSet> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableSchema: schema,
  });
  for (let attempt = 1; ; attempt += 1) {
    try {
      const result = await migrator.migrateToLatest();
      if (result.error) throw result.error;
      return result;
    } catch (err) {
      // Kysely's introspection lists the tables of every schema; a schema dropped by someone
      // else during that query fails it with 3F000 naming that schema. Nothing of ours was
      // changed (the migrations run in a transaction afterwards), so look again.
      if (attempt >= 5 || !droppedMeanwhile(err, schema)) throw err;
      await new Promise((r) => setTimeout(r, 100 * attempt));
    }
  }
}

const droppedMeanwhile = (err: unknown, ours: string) => {
  const e = err as { code?: string; message?: string };
  return e.code === "3F000" && typeof e.message === "string" && !e.message.includes(`"${ours}"`);
};
