// Mint throughput, measured side by side in one run on one anvil:
//   raw        viem sends the same mint calls directly (nonces assigned in memory, 10 in flight)
//   hookrail   signed payment webhooks POSTed to a web process (10 in flight) -> receiver
//              -> `payments` job -> matched -> `mints` job -> batched, exactly-once sender -> monitor
//              -> order completed, with 1 and then 2 worker processes
// Run: npm run build && node bench/mint/run.mjs   (BENCH_MINTS=200, BENCH_ROUNDS=3 by default)
// Each round runs raw, 1 worker and 2 workers back to back; the median round is reported, all
// rounds are listed (the machine is shared, single runs are noisy).
// Needs Redis on 127.0.0.1:6379 and Postgres at TEST_DATABASE_URL (as the tests do).
import { randomUUID } from "node:crypto";
import { spawn } from "node:child_process";
import os from "node:os";
import pg from "pg";
import { encodeFunctionData } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { ANVIL_KEYS, startAnvil } from "../../dist/src/chain/anvil.js";
import { securityTokenAbi } from "../../dist/src/chain/artifacts/SecurityToken.js";
import { createChainClients } from "../../dist/src/chain/clients.js";
import { deployContracts } from "../../dist/src/chain/deploy.js";
import { openDatabase } from "../../dist/src/db/client.js";
import { migrateToLatest } from "../../dist/src/db/migrate.js";
import { QUEUE_MODULES } from "../../dist/src/processes/queue-modules.js";
import { createQueueSet } from "../../dist/src/queues/queue-set.js";
import { createRedis } from "../../dist/src/redis/connection.js";
import { signStandardWebhook } from "../../dist/src/server/webhooks/verify/standard-webhooks.js";
import { dropScratchNamespace } from "../../dist/src/dev/scratch-namespace.js";

const N = Number(process.env.BENCH_MINTS ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const DATABASE_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const name = `bench_mint_${randomUUID().slice(0, 8)}`;
const ROOT = new URL("../../", import.meta.url).pathname;

const PAY_SECRET = `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString("base64")}`;
const wallet = () => `0x${Buffer.from(crypto.getRandomValues(new Uint8Array(20))).toString("hex")}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function pool(items, width, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

// Mixed mining: two worker processes send one signer's nonces out of order (see AnvilOptions.mixedMining).
const anvil = await startAnvil({ mixedMining: true });
const workers = [];
let dbh, redis, queues, pgc;
try {
  const deployer = createChainClients({ rpcUrl: anvil.url, chainId: 31337, privateKey: ANVIL_KEYS.deployer, pollingIntervalMs: 50 });
  const signerAddress = privateKeyToAccount(ANVIL_KEYS.signer).address;
  const { securityToken } = await deployContracts(deployer, { admin: signerAddress });
  dbh = await openDatabase({ databaseUrl: DATABASE_URL, schema: name, pgliteDir: "" });
  pgc = new pg.Client({ connectionString: DATABASE_URL });
  await pgc.connect();
  await migrateToLatest(dbh.db, name);
  redis = createRedis(REDIS_URL, "producer");
  queues = createQueueSet(redis, name, QUEUE_MODULES);

  // --- raw viem: same calls, same signer, no database, no queue
  const signer = createChainClients({ rpcUrl: anvil.url, chainId: 31337, privateKey: ANVIL_KEYS.signer, pollingIntervalMs: 50 });
  const data = (to, amount) => encodeFunctionData({ abi: securityTokenAbi, functionName: "mint", args: [to, amount] });
  const gas = await signer.publicClient.estimateGas({ account: signerAddress, to: securityToken, data: data(wallet(), 1n) });
  // Raw sends come from a second minter (the spare key), so hookrail's signer nonces stay
  // hookrail's own across rounds. The role is granted before hookrail ever signs.
  const spare = createChainClients({ rpcUrl: anvil.url, chainId: 31337, privateKey: ANVIL_KEYS.spare, pollingIntervalMs: 50 });
  const minterRole = await signer.publicClient.readContract({ address: securityToken, abi: securityTokenAbi, functionName: "MINTER_ROLE" });
  await signer.publicClient.waitForTransactionReceipt({
    hash: await signer.walletClient.writeContract({
      address: securityToken,
      abi: securityTokenAbi,
      functionName: "grantRole",
      args: [minterRole, spare.account.address],
    }),
  });
  const runRaw = async () => {
    let nonce = await spare.publicClient.getTransactionCount({ address: spare.account.address, blockTag: "pending" });
    const start = performance.now();
    await pool(
      Array.from({ length: N }, (_, i) => i),
      10,
      async (i) => {
        const hash = await spare.walletClient.sendTransaction({
          to: securityToken,
          data: data(wallet(), BigInt(i + 1)),
          nonce: nonce++,
          gas: (gas * 12n) / 10n,
        });
        await spare.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 50 });
      },
    );
    return performance.now() - start;
  };

  // --- hookrail end to end: one web process, k worker processes
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATABASE_URL,
    DATABASE_SCHEMA: name,
    REDIS_URL,
    QUEUE_PREFIX: name,
    LOG_LEVEL: "warn",
    RPC_URL: anvil.url,
    CHAIN_ID: "31337",
    SIGNER_PRIVATE_KEY: ANVIL_KEYS.signer,
    CHAIN_POLL_INTERVAL_MS: process.env.BENCH_POLL_MS ?? "50",
    WORKER_QUEUES: "payments,mints",
    WORKER_CONCURRENCY: "10",
    PAYMENTS_WEBHOOK_SECRETS: PAY_SECRET,
  };
  const webProc = spawn(process.execPath, [`${ROOT}dist/src/bin/web.js`], { env: { ...env, PORT: "0", LOG_LEVEL: "info" }, stdio: ["ignore", "pipe", "pipe"] });
  workers.push(webProc);
  const webPort = await new Promise((resolve, reject) => {
    let out = "";
    webProc.stdout.on("data", (d) => {
      out += d;
      const m = /"port":(\d+).*"web listening"/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    webProc.stderr.on("data", (d) => (out += d));
    webProc.once("exit", () => reject(new Error(`web exited: ${out}`)));
  });

  const runHookrail = async (k) => {
    const tag = `B-${k}-${randomUUID().slice(0, 8)}`;
    const rows = Array.from({ length: N }, (_, i) => ({ id: `inv-${randomUUID()}`, ref: `${tag}-${randomUUID()}`, amount: String(i + 1) }));
    await dbh.db
      .insertInto("investors")
      .values(
        rows.map((r) => ({
          id: r.id,
          wallet: wallet(),
          first_name: "B",
          last_name: "M",
          date_of_birth: "1980-01-01",
          nationality: "DE",
          kyc_status: "approved",
        })),
      )
      .execute();
    await dbh.db
      .insertInto("orders")
      .values(
        rows.map((r) => ({
          reference_id: r.ref,
          investor_id: r.id,
          token_address: securityToken,
          token_amount: r.amount,
          expected_amount: "100",
          currency: "USD",
        })),
      )
      .execute();
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
    // Signed before the clock starts, so the load generator does no crypto while measuring.
    const requests = rows.map((r) => {
      const body = JSON.stringify({
        referenceId: r.ref,
        amount: 100,
        currency: "USD",
        bankTransactionId: `BTX-${randomUUID()}`,
        timestamp: new Date().toISOString(),
        rail: "SEPA",
      });
      const id = `msg_${randomUUID()}`;
      const ts = Math.floor(Date.now() / 1000);
      return {
        body,
        headers: {
          "content-type": "application/json",
          "webhook-id": id,
          "webhook-timestamp": String(ts),
          "webhook-signature": signStandardWebhook(PAY_SECRET, id, ts, body),
        },
      };
    });
    const start = performance.now();
    await pool(requests, 10, async (req) => {
      const res = await fetch(`http://127.0.0.1:${webPort}/webhooks/payments`, { method: "POST", body: req.body, headers: req.headers });
      if (res.status !== 202) throw new Error(`webhook answered ${res.status}: ${await res.text()}`);
    });
    for (;;) {
      const { n } = await dbh.db
        .selectFrom("orders")
        .select((eb) => eb.fn.countAll().as("n"))
        .where("reference_id", "like", `${tag}-%`)
        .where("status", "=", "completed")
        .executeTakeFirstOrThrow();
      if (Number(n) === N) break;
      if (performance.now() - start > 600_000) throw new Error(`only ${n}/${N} completed in 10 min`);
      await sleep(20);
    }
    const ms = performance.now() - start;
    // Where the time went, per mint: waiting to sign (intent -> signed, includes the nonce
    // lock queue) and signed -> confirmed (broadcast + mining + receipt poll).
    const {
      rows: [st],
    } = await pgc.query(
      `select percentile_cont(0.5) within group (order by extract(epoch from signed_at - created_at) * 1000) as to_signed_ms,
              percentile_cont(0.5) within group (order by extract(epoch from confirmed_at - signed_at) * 1000) as to_confirmed_ms
         from "${name}".chain_transactions t
        where t.intent_key in (select intent_key from "${name}".mint_intent_orders where reference_id like $1)`,
      [`${tag}-%`],
    );
    for (const { child } of mine) child.kill("SIGTERM");
    await Promise.all(mine.map(({ child }) => new Promise((r) => (child.exitCode !== null ? r() : child.once("exit", r)))));
    const errors = mine
      .map(({ out }) => out())
      .join("")
      .split("\n")
      .filter((l) => /"level":(50|60)/.test(l));
    return { ms, errors: errors.length, toSignedMs: Math.round(st.to_signed_ms), toConfirmedMs: Math.round(st.to_confirmed_ms) };
  };
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    const rawMs = await runRaw();
    const one = await runHookrail(1);
    const two = await runHookrail(2);
    rounds.push({ rawMs, one, two });
  }
  const rate = (ms) => +(N / (ms / 1000)).toFixed(1);
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const raw = median(rounds.map((r) => r.rawMs));
  const one = median(rounds.map((r) => r.one.ms));
  const two = median(rounds.map((r) => r.two.ms));
  const result = {
    mints_per_run: N,
    rounds: ROUNDS,
    machine: `${os.cpus().length} x ${os.cpus()[0]?.model}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}, load ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}`,
    median_mints_per_s: { raw_viem: rate(raw), hookrail_1_worker: rate(one), hookrail_2_workers: rate(two) },
    median_ratio_to_raw: { hookrail_1_worker: +(raw / one).toFixed(2), hookrail_2_workers: +(raw / two).toFixed(2) },
    per_round_mints_per_s: rounds.map((r) => ({ raw_viem: rate(r.rawMs), hookrail_1_worker: rate(r.one.ms), hookrail_2_workers: rate(r.two.ms) })),
    per_round_median_ms_intent_to_signed: rounds.map((r) => ({ hookrail_1_worker: r.one.toSignedMs, hookrail_2_workers: r.two.toSignedMs })),
    per_round_median_ms_signed_to_confirmed: rounds.map((r) => ({ hookrail_1_worker: r.one.toConfirmedMs, hookrail_2_workers: r.two.toConfirmedMs })),
    worker_error_log_lines: rounds.reduce((n, r) => n + r.one.errors + r.two.errors, 0),
  };
  console.log(JSON.stringify(result, null, 2));
} finally {
  for (const w of workers) if (w.exitCode === null) w.kill("SIGKILL");
  await queues?.close();
  redis?.disconnect();
  await dbh?.close();
  await pgc?.end();
  await anvil.stop();
  await dropScratchNamespace({ databaseUrl: DATABASE_URL, redisUrl: REDIS_URL, name });
}
