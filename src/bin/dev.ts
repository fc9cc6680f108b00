import { randomBytes } from "node:crypto";
import { loadConfig } from "../config/index.js";
import { migrateToLatest } from "../db/migrate.js";
import { redisAnswers, startRedisServer, type EmbeddedRedis } from "../dev/embedded-redis.js";
import { exitOnStartupError, onShutdown } from "../lifecycle/shutdown.js";
import { buildClients, closeClients } from "../processes/clients.js";
import { startWebSide } from "../processes/web.js";
import { startWorkerSide } from "../processes/worker.js";

// One process with web + worker (+ relay) and embedded defaults, for trying hookrail on a
// laptop. Embedded PGlite allows one process per data directory, hence one process.
let embedded: EmbeddedRedis | undefined;
try {
  const env = { ...process.env };
  if (!env.REDIS_URL && !(await redisAnswers("127.0.0.1", 6379))) {
    embedded = await startRedisServer();
    env.REDIS_URL = embedded.url;
    process.stdout.write(`dev: started redis-server at ${embedded.url}\n`);
  }
  const boardPassword = env.BOARD_PASSWORD || randomBytes(9).toString("base64url");
  const config = loadConfig(env);
  const c = await buildClients(config, "producer", "dev");
  await migrateToLatest(c.dbh.db, config.DATABASE_SCHEMA);
  const worker = await startWorkerSide(c);
  const web = await startWebSide(c, { boardPassword });
  process.stdout.write(
    [
      "",
      "hookrail dev is running",
      `  database:  ${c.dbh.kind === "pglite" ? `embedded PGlite in ${config.PGLITE_DIR}` : "Postgres (DATABASE_URL)"}`,
      `  redis:     ${config.REDIS_URL}`,
      `  health:    http://127.0.0.1:${web.port}/healthz`,
      `  dashboard: http://127.0.0.1:${web.port}/admin/queues  (user ${config.BOARD_USERNAME}, password ${boardPassword})`,
      "",
    ].join("\n") + "\n",
  );
  onShutdown(c.log, async () => {
    await web.stop();
    await worker.stop();
    await closeClients(c);
    await embedded?.stop();
  });
} catch (err) {
  await embedded?.stop().catch(() => {});
  exitOnStartupError(err);
}
