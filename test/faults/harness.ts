import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import type { Redis } from "ioredis";
import pg from "pg";
import { freePort, startRedisServer, type EmbeddedRedis } from "../../src/dev/embedded-redis.js";
import type { DbHandle } from "../../src/db/client.js";
import { QUEUE_MODULES } from "../../src/processes/queue-modules.js";
import { createQueueSet, type QueueSet } from "../../src/queues/queue-set.js";
import { createRedis, waitReady } from "../../src/redis/connection.js";
import { startTestChain, type TestChain } from "../helpers/chain.js";
import { TEST_DATABASE_URL, testEnv, uniqueName, waitFor } from "../helpers/env.js";
import { ROOT, spawnNode, type Spawned } from "../helpers/process.js";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.js";
import { rsaKeyPair } from "../helpers/webhook-senders.js";
import { openTestDatabase } from "../helpers/stack.js";

/** The queues the storm feeds; the workers serve exactly these. */
export const STORM_QUEUES: string[] = ["payments", "bakkt-webhooks", "kyc-sumsub", "custody-fireblocks", "mints"];

export interface Secrets {
  payments: string;
  bakkt: string;
  sumsub: string;
  fireblocks: ReturnType<typeof rsaKeyPair>;
}

/**
 * Everything the fault suite runs against, all of its own: a redis-server with AOF
 * (appendfsync always) that it may crash and restart, anvil with the contracts, and TCP proxies
 * between the child processes and Postgres / the chain RPC so either can be cut off without
 * touching the shared services. The test reads and sets up Postgres and the chain directly.
 */
export interface Harness {
  name: string;
  secrets: Secrets;
  redis: EmbeddedRedis;
  chain: TestChain;
  pgProxy: TcpProxy;
  rpcProxy: TcpProxy;
  dbh: DbHandle;
  /** The test's own Redis connection (a worker-role one: it reconnects across the restart). */
  admin: Redis;
  queues: QueueSet;
  webBase: string;
  web: Spawned;
  workers: Spawned[];
  startWorker(): Promise<Spawned>;
  startWeb(): Promise<void>;
  stop(): Promise<void>;
}

const alive = (p: Spawned) => p.child.exitCode === null && p.child.signalCode === null;

export async function startHarness(label: string): Promise<Harness> {
  const name = uniqueName(label);
  const secrets: Secrets = {
    payments: `whsec_${randomBytes(24).toString("base64")}`,
    bakkt: `whsec_${randomBytes(24).toString("base64")}`,
    sumsub: `sumsub-${randomBytes(12).toString("hex")}`,
    fireblocks: rsaKeyPair(),
  };
  const redis = await startRedisServer(["--appendonly", "yes", "--appendfsync", "always"]);
  const chain = await startTestChain({ mixedMining: true });
  const pgUrl = new URL(TEST_DATABASE_URL);
  const pgProxy = await startTcpProxy(pgUrl.hostname, Number(pgUrl.port || 5432));
  const rpcProxy = await startTcpProxy("127.0.0.1", chain.anvil.port);
  const dbh = await openTestDatabase(name);
  const admin = createRedis(redis.url, "worker");
  admin.on("error", () => {});
  await waitReady(admin);
  const queues = createQueueSet(admin, name, QUEUE_MODULES);

  const proxiedDb = new URL(TEST_DATABASE_URL);
  proxiedDb.hostname = "127.0.0.1";
  proxiedDb.port = String(pgProxy.port);
  const env = (extra: Record<string, string>) =>
    testEnv(name, {
      REDIS_URL: redis.url,
      DATABASE_URL: proxiedDb.toString(),
      ...chain.env,
      RPC_URL: `http://127.0.0.1:${rpcProxy.port}`,
      ...extra,
    });

  const workers: Spawned[] = [];
  const webPort = await freePort();
  const h: Harness = {
    name,
    secrets,
    redis,
    chain,
    pgProxy,
    rpcProxy,
    dbh,
    admin,
    queues,
    webBase: `http://127.0.0.1:${webPort}`,
    web: undefined as unknown as Spawned,
    workers,
    async startWorker() {
      const w = spawnNode(
        `${ROOT}dist/src/bin/worker.js`,
        [],
        env({
          WORKER_QUEUES: STORM_QUEUES.join(","),
          WORKER_CONCURRENCY: "10",
          // A SIGKILLed worker's jobs are handed out again within ~16 s instead of ~60 s.
          WORKER_LOCK_DURATION_MS: "8000",
          CHAIN_RECEIPT_TIMEOUT_MS: "30000",
          LOG_LEVEL: "info",
        }),
      );
      workers.push(w);
      await w.waitForOutput(/worker started/, 30_000);
      return w;
    },
    async startWeb() {
      h.web = spawnNode(
        `${ROOT}dist/src/bin/web.js`,
        [],
        env({
          PORT: String(webPort),
          // One line per request would be 10,000+ lines the test has no use for.
          LOG_LEVEL: "warn",
          PAYMENTS_WEBHOOK_SECRETS: secrets.payments,
          BAKKT_WEBHOOK_SECRETS: secrets.bakkt,
          SUMSUB_WEBHOOK_SECRETS: secrets.sumsub,
          FIREBLOCKS_PUBLIC_KEYS: secrets.fireblocks.publicPem,
          PAYMENTS_IP_ALLOWLIST: "127.0.0.1/32",
          BAKKT_IP_ALLOWLIST: "127.0.0.1/32",
          SUMSUB_IP_ALLOWLIST: "127.0.0.1/32",
          FIREBLOCKS_IP_ALLOWLIST: "127.0.0.1/32",
        }),
      );
      await waitFor(
        async () => {
          if (!alive(h.web)) throw new Error(`web exited: ${h.web.stderr()}${h.web.stdout()}`);
          return (await fetch(`${h.webBase}/healthz`).catch(() => undefined))?.ok;
        },
        30_000,
        "web /healthz",
      );
    },
    async stop() {
      const procs = [...workers, ...(h.web ? [h.web] : [])];
      for (const p of procs) if (alive(p)) p.child.kill("SIGKILL");
      await Promise.all(procs.map((p) => p.exited));
      // The children's logs, for reading after a failed run (CI keeps .test-results).
      const dir = `${ROOT}.test-results/faults-logs`;
      mkdirSync(dir, { recursive: true });
      procs.forEach((p, i) => {
        writeFileSync(`${dir}/${p === h.web ? "web" : `worker-${i + 1}`}.log`, p.stdout() + p.stderr());
      });
      await queues.close().catch(() => {});
      admin.disconnect();
      await dbh.close();
      await pgProxy.close();
      await rpcProxy.close();
      await chain.stop();
      await redis.stop();
      const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await client.connect();
      await client.query(`drop schema if exists "${name}" cascade`);
      await client.end();
    },
  };
  return h;
}

export { alive };

/** Jobs of the storm queues not finished yet (waiting, active, delayed, ...), and their dead letters. */
export async function backlog(queues: QueueSet): Promise<{ open: Record<string, number>; failed: number; deadLetters: Record<string, number> }> {
  const open: Record<string, number> = {};
  const deadLetters: Record<string, number> = {};
  let failed = 0;
  for (const q of STORM_QUEUES) {
    const c = await queues.queue(q).getJobCounts("waiting", "active", "delayed", "prioritized", "waiting-children", "failed");
    const n = c.waiting! + c.active! + c.delayed! + c.prioritized! + c["waiting-children"]!;
    if (n) open[q] = n;
    failed += c.failed!;
    const d = await queues.deadLetters(q).getJobCounts("waiting", "active", "delayed", "completed", "failed", "prioritized");
    const dn = Object.values(d).reduce((a, b) => a + b, 0);
    if (dn) deadLetters[q] = dn;
  }
  return { open, failed, deadLetters };
}
