import type { Redis } from "ioredis";
import { openDatabase, type DbHandle } from "../../src/db/client.js";
import { migrateToLatest } from "../../src/db/migrate.js";
import { buildClients, closeClients, type Clients } from "../../src/processes/clients.js";
import { QUEUE_MODULES } from "../../src/processes/queue-modules.js";
import { startWebSide, type WebSide } from "../../src/processes/web.js";
import { startWorkerSide, type ProcessorOverrides } from "../../src/processes/worker.js";
import { createQueueSet, type QueueSet } from "../../src/queues/queue-set.js";
import { createRedis, waitReady } from "../../src/redis/connection.js";
import { cleanup, TEST_DATABASE_URL, TEST_REDIS_URL, testConfig, uniqueName } from "./env.js";

// The setup every test file shares: its own Postgres schema and BullMQ prefix, the real
// clients a process builds, the migrations, and whichever sides of hookrail it needs. Each
// `close` undoes what its `start` did, in reverse, and drops the namespace.

export interface TestStack {
  /** The file's Postgres schema and BullMQ prefix. */
  name: string;
  c: Clients;
  web?: WebSide;
  /** `http://127.0.0.1:<port>` of the web side, when started. */
  base: string;
  worker?: { stop(): Promise<void> };
  close(): Promise<void>;
}

export interface StackOptions {
  /** Environment on top of the test defaults (LOG_LEVEL silent, PORT 0, the file's schema and prefix). */
  env?: Record<string, string>;
  web?: boolean;
  worker?: boolean;
  /** Replace some queues' processors in the worker side. */
  overrides?: ProcessorOverrides;
  /** An existing name to reuse (otherwise one is made from `label`). */
  name?: string;
}

export async function startStack(label: string, opts: StackOptions = {}): Promise<TestStack> {
  const name = opts.name ?? uniqueName(label);
  const c = await buildClients(testConfig(name, opts.env), "producer", "test");
  let worker: TestStack["worker"];
  let web: WebSide | undefined;
  try {
    await migrateToLatest(c.dbh.db, name);
    if (opts.worker) worker = startWorkerSide(c, opts.overrides);
    if (opts.web) web = await startWebSide(c);
  } catch (err) {
    await worker?.stop();
    await closeClients(c);
    throw err;
  }
  return {
    name,
    c,
    web,
    worker,
    base: web ? `http://127.0.0.1:${web.port}` : "",
    close: async () => {
      await web?.stop();
      await worker?.stop();
      await closeClients(c);
      await cleanup(name);
    },
  };
}

/** A migrated database in the file's own schema, without Redis or processes. */
export async function openTestDatabase(name: string, poolSize?: number): Promise<DbHandle> {
  const dbh = await openDatabase({ databaseUrl: TEST_DATABASE_URL, schema: name, pgliteDir: "", poolSize });
  await migrateToLatest(dbh.db, name);
  return dbh;
}

/** The producer side of every queue under the file's prefix, as a process builds it. */
export async function openTestQueues(name: string): Promise<{ redis: Redis; queues: QueueSet; close(): Promise<void> }> {
  const redis = createRedis(TEST_REDIS_URL, "producer");
  await waitReady(redis);
  const queues = createQueueSet(redis, name, QUEUE_MODULES);
  return {
    redis,
    queues,
    close: async () => {
      await queues.close();
      redis.disconnect();
    },
  };
}
