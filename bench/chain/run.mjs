// Chain throughput on a chain with real block times (issue 14), measured in one run on one anvil
// (`--block-time 2`, no automine):
//   raw viem   a spare minter key sends the mints with every nonce in flight at once: 1,000
//              `mint` calls, then 1,000 orders as 5 `batchMint` calls of 200 (another token)
//   hookrail   a burst of 1,000 signed payment webhooks POSTed to the web process -> payments
//              -> mints (batched per token) -> 2 signers -> chain monitor -> order completed,
//              on a SecurityToken (has batchMint), with 2 worker processes; then 300 orders on
//              a MintableToken (mint only: one transaction per order)
//   floor      what the block gas limit allows at the measured gas per order
// Run: npm run build && node bench/chain/run.mjs
// Knobs (passed to the worker processes): CHAIN_POLL_INTERVAL_MS (default here 250),
// MINT_BATCH_WINDOW_MS, MINT_BATCH_SIZE, WORKER_CONCURRENCY (defaults of the app when unset).
// BENCH_ORDERS=1000, BENCH_PLAIN_ORDERS=300, BENCH_POST_WIDTH=20 (POSTs in flight),
// BENCH_SKIP_RAW=1 skips the raw baseline (for knob sweeps).
// Needs Redis on 127.0.0.1:6379 and Postgres at TEST_DATABASE_URL (as the tests do).
import { randomUUID } from "node:crypto";
import os from "node:os";
import pg from "pg";
import { encodeFunctionData, erc20Abi } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { ANVIL_KEYS, startAnvil } from "../../dist/src/chain/anvil.js";
import { securityTokenAbi } from "../../dist/src/chain/artifacts/SecurityToken.js";
import { createChainClients } from "../../dist/src/chain/clients.js";
import { deployContracts, deployMintableToken, deploySecurityToken } from "../../dist/src/chain/deploy.js";
import { openDatabase } from "../../dist/src/db/client.js";
import { migrateToLatest } from "../../dist/src/db/migrate.js";
import { dropScratchNamespace } from "../../dist/src/dev/scratch-namespace.js";
import { QUEUE_MODULES } from "../../dist/src/processes/queue-modules.js";
import { createQueueSet } from "../../dist/src/queues/queue-set.js";
import { createRedis } from "../../dist/src/redis/connection.js";
import { analyse, errorLines, pool, postAll, seedOrders, signPayments, startWeb, startWorkers, stopProcesses, wallet, waitCompleted } from "./hookrail.mjs";
import { sendAllInFlight } from "./raw.mjs";

const N = Number(process.env.BENCH_ORDERS ?? 1000);
const N_PLAIN = Number(process.env.BENCH_PLAIN_ORDERS ?? 300);
const POST_WIDTH = Number(process.env.BENCH_POST_WIDTH ?? 20);
const BLOCK_TIME = 2;
const BATCH = 200;
const DATABASE_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const name = `bench_chain_${randomUUID().slice(0, 8)}`;
const PAY_SECRET = `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString("base64")}`;
const loadavg = () => os.loadavg().map((l) => +l.toFixed(2));
const machine = {
  cpus: os.cpus().length,
  cpu: os.cpus()[0]?.model,
  mem_gib: Math.round(os.totalmem() / 2 ** 30),
  node: process.version,
  load_at_start: loadavg(),
};

// The knobs the worker processes get; unset ones keep the app's defaults.
const knobs = { CHAIN_POLL_INTERVAL_MS: process.env.CHAIN_POLL_INTERVAL_MS ?? "250" };
for (const k of ["MINT_BATCH_WINDOW_MS", "MINT_BATCH_SIZE", "WORKER_CONCURRENCY"]) if (process.env[k]) knobs[k] = process.env[k];

const anvil = await startAnvil({ blockTime: BLOCK_TIME });
const procs = [];
let dbh, redis, queues, pgc;
try {
  const deployer = createChainClients({ rpcUrl: anvil.url, chainId: 31337, privateKey: ANVIL_KEYS.deployer, pollingIntervalMs: 100 });
  const { publicClient } = deployer;
  const signerKeys = [ANVIL_KEYS.signer, ANVIL_KEYS.extraSigners[0]];
  const spare = createChainClients({ rpcUrl: anvil.url, chainId: 31337, privateKey: ANVIL_KEYS.spare, pollingIntervalMs: 100 });
  const minters = [...signerKeys.map((k) => privateKeyToAccount(k).address), spare.account.address];
  // Hookrail's tokens: the security token (batchMint) and one with mint only. The raw baseline
  // mints on tokens of its own, so each token's supply says what one side minted.
  const { securityToken } = await deployContracts(deployer, { admin: minters[0], tokenAdmin: deployer.account.address, minters });
  const plainToken = await deployMintableToken(deployer, deployer.account.address, "Plain", "PLN", minters);
  const rawToken = await deploySecurityToken(deployer, deployer.account.address, "Raw", "RAW", [spare.account.address]);
  const rawBatchToken = await deploySecurityToken(deployer, deployer.account.address, "RawBatch", "RWB", [spare.account.address]);
  const blockGasLimit = (await publicClient.getBlock({ blockTag: "latest" })).gasLimit;

  dbh = await openDatabase({ databaseUrl: DATABASE_URL, schema: name, pgliteDir: "" });
  pgc = new pg.Client({ connectionString: DATABASE_URL });
  await pgc.connect();
  await migrateToLatest(dbh.db, name);
  redis = createRedis(REDIS_URL, "producer");
  queues = createQueueSet(redis, name, QUEUE_MODULES);

  // --- raw viem: the same mints from the spare key, every nonce in flight
  const mintData = (to, amount) => encodeFunctionData({ abi: securityTokenAbi, functionName: "mint", args: [to, amount] });
  const batchData = (tos, amounts) => encodeFunctionData({ abi: securityTokenAbi, functionName: "batchMint", args: [tos, amounts] });
  let raw;
  if (!process.env.BENCH_SKIP_RAW) {
    // Gas limit as hookrail signs it: the estimate for a new holder plus 20%.
    const mintGas = ((await publicClient.estimateGas({ account: spare.account.address, to: rawToken, data: mintData(wallet(), 1n) })) * 12n) / 10n;
    const single = await sendAllInFlight(
      spare,
      Array.from({ length: N }, (_, i) => ({ to: rawToken, data: mintData(wallet(), BigInt(i + 1) * 10n ** 18n), gas: mintGas })),
    );
    const batchCalls = [];
    for (let i = 0; i < N; i += BATCH) {
      const n = Math.min(BATCH, N - i);
      const data = batchData(
        Array.from({ length: n }, wallet),
        Array.from({ length: n }, (_, j) => BigInt(i + j + 1) * 10n ** 18n),
      );
      const gas = ((await publicClient.estimateGas({ account: spare.account.address, to: rawBatchToken, data })) * 12n) / 10n;
      batchCalls.push({ to: rawBatchToken, data, gas });
    }
    const batched = await sendAllInFlight(spare, batchCalls);
    const summary = (r) => ({
      seconds: +r.seconds.toFixed(2),
      all_sent_s: +r.sentSeconds.toFixed(2),
      blocks: r.blocks,
      blocks_with_mints: r.blocksUsed,
      transactions: r.transactions,
      gas_per_order: Math.round(Number(r.gasUsed) / N),
    });
    raw = { mint_per_order: summary(single), [`batchMint_of_${BATCH}`]: summary(batched) };
  }

  // --- hookrail: the web process and 2 worker processes, 2 signers
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
    SIGNER_PRIVATE_KEY: signerKeys.join(","),
    WORKER_QUEUES: "payments,mints",
    PAYMENTS_WEBHOOK_SECRETS: PAY_SECRET,
    ...knobs,
  };
  const web = await startWeb(env);
  procs.push(web);
  const workers = await startWorkers(env, 2, { queue: queues.queue("mints"), redis, leaseKey: `${name}:chain-monitor:31337` });
  procs.push(...workers);

  const head = () => publicClient.getBlockNumber({ cacheTime: 0 });
  const runOrders = async (token, n, label) => {
    const tag = `C-${label}-${randomUUID().slice(0, 8)}`;
    const rows = await seedOrders(dbh.db, token, n, tag);
    const requests = signPayments(PAY_SECRET, rows);
    const firstPostBlock = await head();
    const t0Ms = Date.now();
    const start = performance.now();
    await postAll(web.port, requests, POST_WIDTH);
    const ackSeconds = (performance.now() - start) / 1000;
    const lastAckBlock = await head();
    await waitCompleted(dbh.db, tag, n);
    const seconds = (performance.now() - start) / 1000;
    const doneBlock = await head();
    const a = await analyse({ pgc, schema: name, tag, publicClient, queues, t0Ms });
    // Exactly once, on chain: every holder has exactly its order's amount.
    let wrong = 0;
    await pool(rows, 20, async (r) => {
      const b = await publicClient.readContract({ address: token, abi: erc20Abi, functionName: "balanceOf", args: [r.wallet] });
      if (b !== r.amount) wrong += 1;
    });
    return {
      orders: n,
      seconds: +seconds.toFixed(2),
      posts_acknowledged_s: +ackSeconds.toFixed(2),
      blocks_first_post_to_last_completed: Number(doneBlock - firstPostBlock),
      blocks_last_ack_to_last_completed: Number(doneBlock - lastAckBlock),
      last_mint_block_after_last_ack: a.mint_blocks.last - Number(lastAckBlock),
      transactions: a.transactions,
      versions_signed: a.versions_signed,
      broadcasts: a.broadcasts,
      orders_per_transaction: a.orders_per_transaction,
      block_to_completed_s: a.block_to_completed_s,
      gas_per_order: a.gas_per_order,
      blocks_with_mints: a.mint_blocks.with_mints,
      transactions_per_signer: a.signers,
      holders_with_wrong_balance: wrong,
      stages_s_after_first_post: a.stages_s_after_first_post,
    };
  };

  const batch = await runOrders(securityToken, N, "batch");
  const plain = await runOrders(plainToken, N_PLAIN, "plain");
  const errors = errorLines(procs).length;
  const perBlock = (gas) => Number(blockGasLimit / BigInt(gas));
  const result = {
    machine: { ...machine, load_at_end: loadavg() },
    chain: { anvil_block_time_s: BLOCK_TIME, automine: false, block_gas_limit: Number(blockGasLimit) },
    hookrail: { signers: 2, worker_processes: 2, worker_queues: "payments,mints", posts_in_flight: POST_WIDTH, ...knobs },
    batch_token: batch,
    floor_from_block_gas_limit: {
      at_hookrail_gas_per_order: { orders_per_block: perBlock(batch.gas_per_order), blocks_for_orders: Math.ceil(N / perBlock(batch.gas_per_order)) },
      ...(raw
        ? {
            at_single_mint_gas: {
              orders_per_block: perBlock(raw.mint_per_order.gas_per_order),
              blocks_for_orders: Math.ceil(N / perBlock(raw.mint_per_order.gas_per_order)),
            },
          }
        : {}),
    },
    ...(raw ? { raw_viem_all_nonces_in_flight: raw } : {}),
    plain_token: plain,
    goals: {
      burst_within_10_blocks_of_last_ack: batch.blocks_last_ack_to_last_completed <= 10,
      batch_gas_per_order_at_most_30000: batch.gas_per_order <= 30_000,
      plain_300_within_30_blocks: plain.blocks_first_post_to_last_completed <= 30,
      exactly_once_on_chain: batch.holders_with_wrong_balance === 0 && plain.holders_with_wrong_balance === 0,
    },
    worker_and_web_error_log_lines: errors,
  };
  console.log(JSON.stringify(result, (_, v) => (typeof v === "bigint" ? Number(v) : v), 2));
} finally {
  await stopProcesses(procs).catch(() => {});
  await queues?.close();
  redis?.disconnect();
  await dbh?.close();
  await pgc?.end();
  await anvil.stop();
  await dropScratchNamespace({ databaseUrl: DATABASE_URL, redisUrl: REDIS_URL, name });
}
