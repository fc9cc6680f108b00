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
  const result = await migrator.migrateToLatest();
  if (result.error) throw result.error;
  return result;
}
