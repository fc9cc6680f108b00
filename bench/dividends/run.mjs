// Dividend payout throughput on anvil, measured side by side in one run:
//   batched_10k  10,000 holders, one `dist/src/bin/worker.js` process paying through our
//                BatchTransfer contract (DIVIDEND_BATCH_SIZE lines per transaction, each batch
//                one exactly-once sender intent), DIVIDEND_PAYOUT_CONCURRENCY batches in flight
//   batched_1k   the first 1,000 of those holders (another record block), same worker
//   direct_1k    the same 1,000 holders paid one ERC-20 transfer per holder (no batch
//                contract: one intent per line), 32 in flight, in a second worker process
// Clock per distribution: the `due` job is added -> the distribution is `completed` in
// Postgres (snapshot from Transfer logs + balanceOf at the record block, lines stored, every
// payout confirmed and recorded). Afterwards each holder's payout balance is checked on chain
// against the sum of its computed amounts (paid once per distribution, exactly).
// Run: npm run build && node bench/dividends/run.mjs   (BENCH_HOLDERS=10000, BENCH_SMALL=1000)
// Needs Redis on 127.0.0.1:6379 and Postgres at TEST_DATABASE_URL (as the tests do).
import { randomUUID } from "node:crypto";
import { spawn } from "node:child_process";
import os from "node:os";
import { erc20Abi } from "viem";
import { ANVIL_KEYS, startAnvil } from "../../dist/src/chain/anvil.js";
import { batchTransferAbi } from "../../dist/src/chain/artifacts/BatchTransfer.js";
import { securityTokenAbi } from "../../dist/src/chain/artifacts/SecurityToken.js";
import { stablecoinAbi } from "../../dist/src/chain/artifacts/Stablecoin.js";
import { createChainClients } from "../../dist/src/chain/clients.js";
import { deployContracts, deploySecurityToken } from "../../dist/src/chain/deploy.js";
import { openDatabase } from "../../dist/src/db/client.js";
import { migrateToLatest } from "../../dist/src/db/migrate.js";
import { QUEUE_MODULES } from "../../dist/src/processes/queue-modules.js";
import { createQueueSet } from "../../dist/src/queues/queue-set.js";
import { createRedis } from "../../dist/src/redis/connection.js";
import { dropScratchNamespace } from "../../dist/src/dev/scratch-namespace.js";

const N = Number(process.env.BENCH_HOLDERS ?? 10_000);
const SMALL = Math.min(N, Number(process.env.BENCH_SMALL ?? 1_000));
const BATCH = process.env.DIVIDEND_BATCH_SIZE ?? "250";
const CONCURRENCY = process.env.DIVIDEND_PAYOUT_CONCURRENCY ?? "4";
const DATABASE_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const name = `bench_div_${randomUUID().slice(0, 8)}`;
const ROOT = new URL("../../", import.meta.url).pathname;
const E18 = 10n ** 18n;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const wallet = () => `0x${Buffer.from(crypto.getRandomValues(new Uint8Array(20))).toString("hex")}`;

const anvil = await startAnvil();
const workers = [];
let dbh, redis, queues;
try {
  const deployer = createChainClients({ rpcUrl: anvil.url, chainId: 31337, privateKey: ANVIL_KEYS.deployer, pollingIntervalMs: 50 });
  const signer = createChainClients({ rpcUrl: anvil.url, chainId: 31337, privateKey: ANVIL_KEYS.signer, pollingIntervalMs: 50 });
  const wait = (hash) => deployer.publicClient.waitForTransactionReceipt({ hash });
  const { stablecoin, batchTransfer } = await deployContracts(deployer, { admin: signer.account.address });
  // Treasury funded before hookrail's sender owns the signer's nonces.
  await wait(
    await signer.walletClient.writeContract({ address: stablecoin, abi: stablecoinAbi, functionName: "mint", args: [signer.account.address, 10n ** 18n] }),
  );

  // --- holders: minted to the deployer, spread with BatchTransfer (500 per transaction)
  const setupStart = performance.now();
  const token = await deploySecurityToken(deployer, deployer.account.address, "Bench Dividend", "BDV");
  const holders = Array.from({ length: N }, wallet);
  const balanceOf = (i) => E18 + BigInt(i) * 1_000_003n;
  const supply = holders.reduce((s, _, i) => s + balanceOf(i), 0n);
  await wait(
    await deployer.walletClient.writeContract({ address: token, abi: securityTokenAbi, functionName: "mint", args: [deployer.account.address, supply] }),
  );
  await wait(await deployer.walletClient.writeContract({ address: token, abi: erc20Abi, functionName: "approve", args: [batchTransfer, supply] }));
  for (let i = 0; i < N; i += 500) {
    const slice = holders.slice(i, i + 500);
    await wait(
      await deployer.walletClient.writeContract({
        address: batchTransfer,
        abi: batchTransferAbi,
        functionName: "batchTransferFrom",
        args: [token, slice, slice.map((_, j) => balanceOf(i + j))],
        gas: 25_000_000n,
      }),
    );
  }
  const recordBlock = await deployer.publicClient.getBlockNumber();
  console.log(`setup: ${N} holders in ${((performance.now() - setupStart) / 1000).toFixed(1)} s (not measured)`);

  dbh = await openDatabase({ databaseUrl: DATABASE_URL, schema: name, pgliteDir: "" });
  await migrateToLatest(dbh.db, name);
  redis = createRedis(REDIS_URL, "producer");
  queues = createQueueSet(redis, name, QUEUE_MODULES);
  const baseEnv = {
    PATH: process.env.PATH,
    DATABASE_URL,
    DATABASE_SCHEMA: name,
    REDIS_URL,
    QUEUE_PREFIX: name,
    LOG_LEVEL: "warn",
    RPC_URL: anvil.url,
    CHAIN_ID: "31337",
    SIGNER_PRIVATE_KEY: ANVIL_KEYS.signer,
    CHAIN_POLL_INTERVAL_MS: "50",
    WORKER_QUEUES: "dividend-payouts",
    DIVIDEND_DUE_CRON: "0 0 1 1 *", // runs are triggered by the bench
  };
  const startWorker = async (env) => {
    const child = spawn(process.execPath, [`${ROOT}dist/src/bin/worker.js`], {
      env: { ...baseEnv, ...env, LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    workers.push(child);
    const deadline = Date.now() + 30_000;
    while (!/worker started/.test(out)) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`worker did not start: ${out}`);
      await sleep(50);
    }
    return { child, out: () => out };
  };

  const amountPerToken = 1_500_001n;
  const expected = new Map(holders.map((h) => [h.toLowerCase(), 0n]));
  const results = [];
  // The 1k runs need a token held by exactly the first SMALL holders: a second token spread
  // the same way (setup, not measured).
  const small = await deploySecurityToken(deployer, deployer.account.address, "Bench Small", "BSM");
  const smallSupply = holders.slice(0, SMALL).reduce((s, _, i) => s + balanceOf(i), 0n);
  await wait(
    await deployer.walletClient.writeContract({ address: small, abi: securityTokenAbi, functionName: "mint", args: [deployer.account.address, smallSupply] }),
  );
  await wait(await deployer.walletClient.writeContract({ address: small, abi: erc20Abi, functionName: "approve", args: [batchTransfer, smallSupply] }));
  for (let i = 0; i < SMALL; i += 500) {
    const slice = holders.slice(i, Math.min(i + 500, SMALL));
    await wait(
      await deployer.walletClient.writeContract({
        address: batchTransfer,
        abi: batchTransferAbi,
        functionName: "batchTransferFrom",
        args: [small, slice, slice.map((_, j) => balanceOf(i + j))],
        gas: 25_000_000n,
      }),
    );
  }
  const smallBlock = await deployer.publicClient.getBlockNumber();
  // A block of its own for the direct run: one declaration per token, record block and payout token.
  await deployer.publicClient.request({ method: "evm_mine", params: [] });
  const smallBlock2 = smallBlock + 1n;

  const runOn = async (label, count, tokenAddress, block) => {
    const id = `bench-${label}`;
    await dbh.db
      .insertInto("distributions")
      .values({
        id,
        token_address: tokenAddress,
        record_block: block.toString(),
        payment_date: new Date(Date.now() - 1_000),
        amount_per_token: amountPerToken.toString(),
        payout_token_address: stablecoin,
        registrar_idempotency_key: `bench-${id}`,
      })
      .execute();
    const start = performance.now();
    const startedAt = Date.now();
    await queues.queue("dividend-payouts").add("pay", { distributionId: id }, { jobId: `dividend-${id}` });
    let row;
    for (;;) {
      row = await dbh.db.selectFrom("distributions").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
      if (row.status === "completed") break;
      if (performance.now() - start > 600_000) throw new Error(`${label}: still ${row.status} after 10 min`);
      await sleep(20);
    }
    const seconds = (performance.now() - start) / 1000;
    const txs = await dbh.db
      .selectFrom("chain_transactions")
      .select((eb) => eb.fn.countAll().as("n"))
      .where("intent_key", "like", `dividend-${id}-%`)
      .executeTakeFirstOrThrow();
    if (row.holder_count !== count) throw new Error(`${label}: ${row.holder_count} holders, expected ${count}`);
    // Batches are confirmed concurrently; the stored total must still count each one once.
    if (row.total_paid !== row.total_due) throw new Error(`${label}: total_paid ${row.total_paid}, total_due ${row.total_due}`);
    for (let i = 0; i < count; i++) {
      const h = holders[i].toLowerCase();
      expected.set(h, expected.get(h) + (balanceOf(i) * amountPerToken) / E18);
    }
    const snapshotSeconds = (row.snapshot_at.getTime() - startedAt) / 1000;
    results.push({ label, holders: count, seconds, holdersPerSecond: count / seconds, transactions: Number(txs.n), snapshotSeconds });
    console.log(`${label}: ${count} holders in ${seconds.toFixed(2)} s = ${(count / seconds).toFixed(0)} holders/s, ${txs.n} payout transactions`);
  };

  const batched = await startWorker({ DIVIDEND_BATCH_CONTRACT: batchTransfer, DIVIDEND_BATCH_SIZE: BATCH, DIVIDEND_PAYOUT_CONCURRENCY: CONCURRENCY });
  await runOn("batched_10k", N, token, recordBlock);
  await runOn("batched_1k", SMALL, small, smallBlock);
  batched.child.kill("SIGTERM");
  await new Promise((r) => batched.child.once("exit", r));
  const direct = await startWorker({ DIVIDEND_PAYOUT_CONCURRENCY: "32" });
  await runOn("direct_1k", SMALL, small, smallBlock2);
  direct.child.kill("SIGTERM");
  await new Promise((r) => direct.child.once("exit", r));

  // Exactly once, checked on chain: every holder holds the sum of its computed amounts.
  let checked = 0;
  for (let i = 0; i < N; i += 200) {
    const slice = holders.slice(i, i + 200);
    const balances = await Promise.all(
      slice.map((h) => deployer.publicClient.readContract({ address: stablecoin, abi: erc20Abi, functionName: "balanceOf", args: [h] })),
    );
    slice.forEach((h, j) => {
      if (balances[j] !== expected.get(h.toLowerCase())) throw new Error(`holder ${h} has ${balances[j]}, expected ${expected.get(h.toLowerCase())}`);
      checked += 1;
    });
  }
  console.log(`on-chain check: ${checked} holders hold exactly their computed amounts`);
  const base = results.find((r) => r.label === "direct_1k");
  console.log(
    `\nmachine: ${os.cpus().length} x ${os.cpus()[0]?.model}, load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}, node ${process.version}`,
  );
  console.log(`batch size ${BATCH}, ${CONCURRENCY} batches in flight\n`);
  console.log("| run | holders | seconds (due -> completed) | of which snapshot | holders/s | payout txs | ratio to direct_1k |");
  console.log("|---|---|---|---|---|---|---|");
  for (const r of results) {
    console.log(
      `| ${r.label} | ${r.holders} | ${r.seconds.toFixed(2)} | ${r.snapshotSeconds.toFixed(2)} | ${r.holdersPerSecond.toFixed(0)} | ${r.transactions} | ${(r.holdersPerSecond / base.holdersPerSecond).toFixed(2)} |`,
    );
  }
} finally {
  for (const w of workers) if (w.exitCode === null) w.kill("SIGKILL");
  await queues?.close().catch(() => {});
  redis?.disconnect();
  await dbh?.close().catch(() => {});
  await anvil.stop();
  await dropScratchNamespace({ databaseUrl: DATABASE_URL, redisUrl: REDIS_URL, name });
}
