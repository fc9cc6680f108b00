// Mint throughput, measured side by side in one run on one anvil:
//   raw        viem sends the same mint calls directly (nonces assigned in memory, 10 in flight)
//   hookrail   payment jobs enqueued on `payments` -> matched -> mint job -> exactly-once
//              sender -> receipt -> order completed, with 1 and then 2 worker processes
// Run: npm run build && node bench/mint/run.mjs   (BENCH_MINTS=200 by default)
// Needs Redis on 127.0.0.1:6379 and Postgres at TEST_DATABASE_URL (as the tests do).
import { randomUUID } from "node:crypto";
import { spawn } from "node:child_process";
import os from "node:os";
import pg from "pg";
import { Redis } from "ioredis";
import { encodeFunctionData } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { ANVIL_KEYS, startAnvil } from "../../dist/src/chain/anvil.js";
import { securityTokenAbi } from "../../dist/src/chain/artifacts/SecurityToken.js";
import { createChainClients } from "../../dist/src/chain/clients.js";
import { deployContracts } from "../../dist/src/chain/deploy.js";
import { openDatabase } from "../../dist/src/db/client.js";
import { migrateToLatest } from "../../dist/src/db/migrate.js";
import { createQueueSet } from "../../dist/src/queues/registry.js";
import { createRedis } from "../../dist/src/redis/connection.js";

const N = Number(process.env.BENCH_MINTS ?? 200);
const DATABASE_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const name = `bench_mint_${randomUUID().slice(0, 8)}`;
const ROOT = new URL("../../", import.meta.url).pathname;

const wallet = () => `0x${Buffer.from(crypto.getRandomValues(new Uint8Array(20))).toString("hex")}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function pool(items, width, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

const anvil = await startAnvil();
const workers = [];
let dbh, redis, queues;
try {
  const deployer = createChainClients({ rpcUrl: anvil.url, chainId: 31337, privateKey: ANVIL_KEYS.deployer, pollingIntervalMs: 50 });
  const signerAddress = privateKeyToAccount(ANVIL_KEYS.signer).address;
  const { securityToken } = await deployContracts(deployer, { admin: signerAddress });
  dbh = await openDatabase({ databaseUrl: DATABASE_URL, schema: name, pgliteDir: "" });
  await migrateToLatest(dbh.db, name);
  redis = createRedis(REDIS_URL, "producer");
  queues = createQueueSet(redis, name);

  // --- raw viem: same calls, same signer, no database, no queue
  const signer = createChainClients({ rpcUrl: anvil.url, chainId: 31337, privateKey: ANVIL_KEYS.signer, pollingIntervalMs: 50 });
  const data = (to, amount) => encodeFunctionData({ abi: securityTokenAbi, functionName: "mint", args: [to, amount] });
  const gas = await signer.publicClient.estimateGas({ account: signerAddress, to: securityToken, data: data(wallet(), 1n) });
  let nonce = await signer.publicClient.getTransactionCount({ address: signerAddress, blockTag: "pending" });
  const rawStart = performance.now();
  const hashes = [];
  await pool(Array.from({ length: N }, (_, i) => i), 10, async (i) => {
    const hash = await signer.walletClient.sendTransaction({ to: securityToken, data: data(wallet(), BigInt(i + 1)), nonce: nonce++, gas: (gas * 12n) / 10n });
    hashes.push(hash);
    await signer.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 50 });
  });
  const rawMs = performance.now() - rawStart;

  // --- hookrail end to end with k worker processes
  const runHookrail = async (k) => {
    const rows = Array.from({ length: N }, (_, i) => ({ id: `inv-${randomUUID()}`, ref: `B-${k}-${randomUUID()}`, amount: String(i + 1) }));
    await dbh.db.insertInto("investors").values(rows.map((r) => ({ id: r.id, wallet: wallet(), first_name: "B", last_name: "M", date_of_birth: "1980-01-01", nationality: "DE", kyc_status: "approved" }))).execute();
    await dbh.db.insertInto("orders").values(rows.map((r) => ({ reference_id: r.ref, investor_id: r.id, token_address: securityToken, token_amount: r.amount, expected_amount: "100", currency: "USD" }))).execute();
    const env = {
      PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL, DATABASE_SCHEMA: name, REDIS_URL, QUEUE_PREFIX: name, LOG_LEVEL: "warn",
      RPC_URL: anvil.url, CHAIN_ID: "31337", SIGNER_PRIVATE_KEY: ANVIL_KEYS.signer, CHAIN_POLL_INTERVAL_MS: "50", WORKER_QUEUES: "payments,mints", WORKER_CONCURRENCY: "10",
    };
    const mine = [];
    for (let i = 0; i < k; i++) {
      const child = spawn(process.execPath, [`${ROOT}dist/src/bin/worker.js`], { env, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      child.stderr.on("data", (d) => (out += d));
      mine.push({ child, out: () => out });
      workers.push(child);
    }
    await sleep(3_000); // let the processes connect and start their workers
    const start = performance.now();
    await queues.queue("payments").addBulk(rows.map((r) => {
      const tx = `BTX-${randomUUID()}`;
      return { name: "payment", data: { eventId: tx, receivedAt: new Date().toISOString(), payload: { referenceId: r.ref, amount: "100.00", currency: "USD", bankTransactionId: tx } }, opts: { jobId: `pay-${tx}` } };
    }));
    for (;;) {
      const { n } = await dbh.db.selectFrom("orders").select((eb) => eb.fn.countAll().as("n")).where("reference_id", "like", `B-${k}-%`).where("status", "=", "completed").executeTakeFirstOrThrow();
      if (Number(n) === N) break;
      if (performance.now() - start > 600_000) throw new Error(`only ${n}/${N} completed in 10 min`);
      await sleep(20);
    }
    const ms = performance.now() - start;
    for (const { child } of mine) child.kill("SIGTERM");
    await Promise.all(mine.map(({ child }) => new Promise((r) => (child.exitCode !== null ? r() : child.once("exit", r)))));
    const errors = mine.map(({ out }) => out()).join("").split("\n").filter((l) => /"level":(50|60)/.test(l));
    return { ms, errors: errors.length };
  };
  const one = await runHookrail(1);
  const two = await runHookrail(2);

  const rate = (ms) => (N / (ms / 1000));
  const result = {
    mints: N,
    machine: `${os.cpus().length} x ${os.cpus()[0]?.model}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`,
    raw_viem: { seconds: +(rawMs / 1000).toFixed(2), mints_per_s: +rate(rawMs).toFixed(1) },
    hookrail_1_worker: { seconds: +(one.ms / 1000).toFixed(2), mints_per_s: +rate(one.ms).toFixed(1), ratio_to_raw: +(rawMs / one.ms).toFixed(2), error_lines: one.errors },
    hookrail_2_workers: { seconds: +(two.ms / 1000).toFixed(2), mints_per_s: +rate(two.ms).toFixed(1), ratio_to_raw: +(rawMs / two.ms).toFixed(2), error_lines: two.errors },
  };
  console.log(JSON.stringify(result, null, 2));
} finally {
  for (const w of workers) if (w.exitCode === null) w.kill("SIGKILL");
  await queues?.close();
  redis?.disconnect();
  await dbh?.close();
  await anvil.stop();
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  await client.query(`drop schema if exists "${name}" cascade`);
  await client.end();
  const r = new Redis(REDIS_URL);
  let cursor = "0";
  do {
    const [next, keys] = await r.scan(cursor, "MATCH", `${name}:*`, "COUNT", 1000);
    cursor = next;
    if (keys.length) await r.del(...keys);
  } while (cursor !== "0");
  r.disconnect();
}
