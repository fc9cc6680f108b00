// The hookrail side of bench/chain: real web and worker processes (built `dist/`), orders and
// approved investors seeded in the database, paid with signed payment webhooks, and what the
// database, BullMQ and the chain say afterwards about where each order's time went.
import { randomUUID } from "node:crypto";
import { spawn } from "node:child_process";
import { signStandardWebhook } from "../../dist/src/server/webhooks/verify/standard-webhooks.js";

const ROOT = new URL("../../", import.meta.url).pathname;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const wallet = () => `0x${Buffer.from(crypto.getRandomValues(new Uint8Array(20))).toString("hex")}`;

/** Run `fn` over `items`, `width` at a time. */
export async function pool(items, width, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

/** A process of ours (`dist/src/bin/<bin>.js`) with its output kept for the error count. */
function startProcess(bin, env) {
  const child = spawn(process.execPath, [`${ROOT}dist/src/bin/${bin}.js`], { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  return { child, out: () => out };
}

/** The web process on a free port; resolves once it listens. */
export async function startWeb(env) {
  const web = startProcess("web", { ...env, PORT: "0", LOG_LEVEL: "info" });
  const port = await new Promise((resolve, reject) => {
    const look = () => {
      const m = /"port":(\d+).*"web listening"/.exec(web.out());
      if (m) resolve(Number(m[1]));
    };
    web.child.stdout.on("data", look);
    web.child.once("exit", () => reject(new Error(`web exited: ${web.out()}`)));
  });
  return { ...web, port };
}

/** `k` worker processes; resolves once each has its BullMQ workers on `queue` and a chain monitor holds the lease. */
export async function startWorkers(env, k, { queue, redis, leaseKey }) {
  const workers = Array.from({ length: k }, () => startProcess("worker", env));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const dead = workers.find((w) => w.child.exitCode !== null);
    if (dead) throw new Error(`worker exited: ${dead.out()}`);
    const [running, lease] = await Promise.all([queue.getWorkersCount(), redis.exists(leaseKey)]);
    if (running >= k && lease) break;
    if (Date.now() > deadline) throw new Error(`workers not ready in 30 s (${running}/${k} connected, lease ${lease})`);
    await sleep(100);
  }
  return workers;
}

export async function stopProcesses(procs) {
  for (const { child } of procs) if (child.exitCode === null) child.kill("SIGTERM");
  const kill = setTimeout(() => {
    for (const { child } of procs) if (child.exitCode === null) child.kill("SIGKILL");
  }, 15_000);
  await Promise.all(procs.map(({ child }) => new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once("exit", r)))));
  clearTimeout(kill);
}

/** Log lines at error or fatal level in the processes' output. */
export const errorLines = (procs) =>
  procs
    .map(({ out }) => out())
    .join("")
    .split("\n")
    .filter((l) => /"level":(50|60)/.test(l));

/** `n` approved investors with new wallets and one pending order each on `token`; references start with `tag`. */
export async function seedOrders(db, token, n, tag) {
  const rows = Array.from({ length: n }, (_, i) => ({
    id: `inv-${randomUUID()}`,
    ref: `${tag}-${randomUUID()}`,
    wallet: wallet(),
    amount: BigInt(i + 1) * 10n ** 18n,
  }));
  for (let i = 0; i < rows.length; i += 500) {
    const part = rows.slice(i, i + 500);
    await db
      .insertInto("investors")
      .values(
        part.map((r) => ({
          id: r.id,
          wallet: r.wallet,
          first_name: "B",
          last_name: "C",
          date_of_birth: "1980-01-01",
          nationality: "DE",
          kyc_status: "approved",
        })),
      )
      .execute();
    await db
      .insertInto("orders")
      .values(
        part.map((r) => ({
          reference_id: r.ref,
          investor_id: r.id,
          token_address: token,
          token_amount: r.amount.toString(),
          expected_amount: "100",
          currency: "USD",
        })),
      )
      .execute();
  }
  return rows;
}

/** One signed `payment.completed` Standard Webhooks request per order, signed before the clock starts. */
export function signPayments(secret, rows) {
  return rows.map((r) => {
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
        "webhook-signature": signStandardWebhook(secret, id, ts, body),
      },
    };
  });
}

/** POST every request, `width` in flight; each must be acknowledged with 202. */
export async function postAll(port, requests, width) {
  await pool(requests, width, async (req) => {
    const res = await fetch(`http://127.0.0.1:${port}/webhooks/payments`, { method: "POST", body: req.body, headers: req.headers });
    if (res.status !== 202) throw new Error(`webhook answered ${res.status}: ${await res.text()}`);
  });
}

/** Poll until every order of `tag` is completed; fails on any order that ends otherwise. */
export async function waitCompleted(db, tag, n, { timeoutMs = 600_000, onPoll } = {}) {
  const start = Date.now();
  for (;;) {
    const counts = await db
      .selectFrom("orders")
      .select(["status", (eb) => eb.fn.countAll().as("n")])
      .where("reference_id", "like", `${tag}-%`)
      .groupBy("status")
      .execute();
    const by = Object.fromEntries(counts.map((c) => [c.status, Number(c.n)]));
    await onPoll?.(by);
    if ((by.completed ?? 0) === n) return;
    const bad = Object.keys(by).filter((s) => !["pending", "minting", "completed"].includes(s));
    if (bad.length) throw new Error(`orders ended ${JSON.stringify(by)}`);
    if (Date.now() - start > timeoutMs) throw new Error(`only ${JSON.stringify(by)} of ${n} in ${timeoutMs} ms`);
    await sleep(50);
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : null;
};
const r2 = (x) => (x === null ? null : Math.round(x * 100) / 100);

/**
 * What the run's mint transactions were: one row per intent carrying orders of `tag`, with
 * its receipt (gas) and block timestamp, and per order the time it passed each stage.
 */
export async function analyse({ pgc, schema, tag, publicClient, queues, t0Ms }) {
  const { rows: intents } = await pgc.query(
    `select ct.intent_key, ct.from_address, ct.mined_hash, ct.block_number, ct.version, ct.broadcasts, ct.status,
            ct.created_at, ct.signed_at, ct.confirmed_at, count(*)::int as orders,
            (select count(*)::int from "${schema}".chain_tx_versions v where v.intent_key = ct.intent_key) as versions
       from "${schema}".chain_transactions ct
       join "${schema}".mint_intent_orders m on m.intent_key = ct.intent_key and m.live
      where m.reference_id like $1
      group by ct.intent_key`,
    [`${tag}-%`],
  );
  const receipts = await Promise.all(intents.map((i) => publicClient.getTransactionReceipt({ hash: i.mined_hash })));
  const blockNumbers = [...new Set(receipts.map((r) => r.blockNumber))];
  const blocks = new Map(await Promise.all(blockNumbers.map(async (n) => [n, await publicClient.getBlock({ blockNumber: n })])));
  const byIntent = new Map(intents.map((i, k) => [i.intent_key, { ...i, receipt: receipts[k], block: blocks.get(receipts[k].blockNumber) }]));
  const orders = intents.reduce((s, i) => s + i.orders, 0);
  const gasUsed = receipts.reduce((s, r) => s + r.gasUsed, 0n);

  // Per order: when (s after the first POST) it passed each stage.
  const { rows: perOrder } = await pgc.query(
    `select o.reference_id, o.completed_at, m.intent_key from "${schema}".orders o
       join "${schema}".mint_intent_orders m on m.reference_id = o.reference_id and m.live
      where o.reference_id like $1`,
    [`${tag}-%`],
  );
  const payJobs = new Map();
  for (const j of await queues.queue("payments").getJobs(["completed"], 0, -1)) {
    const ref = j.data?.payload?.referenceId;
    if (ref?.startsWith(tag)) payJobs.set(ref, j);
  }
  const mintJobs = new Map(
    (await Promise.all(perOrder.map((o) => queues.queue("mints").getJob(`mint-${o.reference_id}`)))).filter(Boolean).map((j) => [j.data.referenceId, j]),
  );
  const at = (ms) => (ms === undefined || ms === null ? null : (Number(ms) - t0Ms) / 1000);
  const stages = {
    acknowledged: [], // the web process enqueued the payment (payments job created), just before its 202
    paid: [], // the payments job finished: order paid, mint job enqueued
    mint_job_started: [],
    intent_stored: [], // the order's (batch) intent row recorded
    signed: [],
    broadcast: [], // the mint job ends once its intent is broadcast
    mined: [], // the timestamp of the block that holds it (1 s resolution)
    completed: [], // the monitor saw it final and completed the order
  };
  for (const o of perOrder) {
    const i = byIntent.get(o.intent_key);
    const pay = payJobs.get(o.reference_id);
    const mint = mintJobs.get(o.reference_id);
    stages.acknowledged.push(at(pay?.timestamp));
    stages.paid.push(at(pay?.finishedOn));
    stages.mint_job_started.push(at(mint?.processedOn));
    stages.intent_stored.push(at(i.created_at.getTime()));
    stages.signed.push(at(i.signed_at?.getTime()));
    stages.broadcast.push(at(mint?.finishedOn));
    stages.mined.push(at(Number(i.block.timestamp) * 1000));
    stages.completed.push(at(o.completed_at.getTime()));
  }
  const stageSummary = Object.fromEntries(
    Object.entries(stages).map(([k, xs]) => {
      const v = xs.filter((x) => x !== null);
      return [k, { median_s: r2(median(v)), last_s: r2(v.length ? Math.max(...v) : null), of: v.length }];
    }),
  );
  // The monitor's share: from the block that mined an intent to its orders completed (block timestamps have 1 s resolution).
  const lags = [...byIntent.values()].map((i) => (i.confirmed_at.getTime() - Number(i.block.timestamp) * 1000) / 1000);
  const signers = {};
  for (const i of intents) signers[i.from_address] = (signers[i.from_address] ?? 0) + 1;
  const txOrders = intents.map((i) => i.orders);
  const firstBlock = Math.min(...blockNumbers.map(Number));
  const lastBlock = Math.max(...blockNumbers.map(Number));
  return {
    orders,
    transactions: intents.length,
    versions_signed: intents.reduce((s, i) => s + i.versions, 0),
    broadcasts: intents.reduce((s, i) => s + i.broadcasts, 0),
    block_to_completed_s: { median: r2(median(lags)), max: r2(Math.max(...lags)) },
    orders_per_transaction: { min: Math.min(...txOrders), median: median(txOrders), max: Math.max(...txOrders) },
    gas_used: gasUsed,
    gas_per_order: Math.round(Number(gasUsed) / orders),
    mint_blocks: { first: firstBlock, last: lastBlock, with_mints: blockNumbers.length },
    signers,
    stages_s_after_first_post: stageSummary,
  };
}
