import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import type { DbHandle } from "../src/db/client.js";
import type { QueueSet } from "../src/queues/queue-set.js";
import { cleanup, testEnv, uniqueName, waitFor } from "./helpers/env.js";
import { ROOT, spawnNode, type Spawned } from "./helpers/process.js";
import { startTestChain, type TestChain } from "./helpers/chain.js";
import { seedOrders } from "./helpers/orders.js";
import { openTestDatabase, openTestQueues } from "./helpers/stack.js";

const name = uniqueName("chain_workers");

// Real worker processes (dist/src/bin/worker.js, or the hooked fixture that SIGKILLs itself at
// a crash point) against anvil, Redis and Postgres. Mining is paused and driven by the test
// wherever the test is about what happens between two blocks.
describe("mint workers as separate processes", () => {
  let chain: TestChain;
  let dbh: DbHandle;
  let redis: Redis;
  let queues: QueueSet;
  const workers: Spawned[] = [];

  const startWorker = async (hook?: string, extra: Record<string, string> = {}) => {
    const script = hook ? `${ROOT}test/fixtures/worker-hooked.mjs` : `${ROOT}dist/src/bin/worker.js`;
    const w = spawnNode(
      script,
      [],
      testEnv(name, {
        ...chain.env,
        WORKER_QUEUES: "payments,mints",
        WORKER_CONCURRENCY: "10",
        // A killed worker's jobs are handed out again within seconds.
        WORKER_LOCK_DURATION_MS: "5000",
        ...(hook ? { HOOK: hook } : {}),
        ...extra,
      }),
    );
    workers.push(w);
    await w.waitForOutput(/worker started/, 30_000);
    return w;
  };
  const stopAll = async () => {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGTERM");
    await Promise.all(workers.map((w) => w.exited));
    // A dead monitor's lease must not delay the next test's workers.
    await redis.del(`${name}:chain-monitor:31337`);
  };

  const seed = (n: number, tokenAmount: (i: number) => bigint) => seedOrders(dbh.db, n, chain.deployment.securityToken, tokenAmount);

  const paymentJob = (ref: string) => {
    const bankTransactionId = `BTX-${randomUUID()}`;
    return {
      name: "payment",
      data: {
        eventId: bankTransactionId,
        receivedAt: new Date().toISOString(),
        payload: { referenceId: ref, amount: "100.00", currency: "USD", bankTransactionId, timestamp: new Date().toISOString() },
      },
      opts: { jobId: `pay-${bankTransactionId}` },
    };
  };

  const order = (ref: string) => dbh.db.selectFrom("orders").selectAll().where("reference_id", "=", ref).executeTakeFirstOrThrow();
  const carrier = (ref: string) =>
    dbh.db
      .selectFrom("mint_intent_orders as m")
      .innerJoin("chain_transactions as t", "t.intent_key", "m.intent_key")
      .selectAll("t")
      .where("m.reference_id", "=", ref)
      .execute();
  const completed = async (refs: string[]) => {
    const { count } = await dbh.db
      .selectFrom("orders")
      .select((eb) => eb.fn.countAll<string>().as("count"))
      .where("reference_id", "in", refs)
      .where("status", "=", "completed")
      .executeTakeFirstOrThrow();
    return Number(count) === refs.length;
  };
  /** Every signer's transactions: nonces 0..n-1, no gap, no reuse, each final. */
  const expectGapFree = async () => {
    for (const signer of chain.signers) {
      const rows = await dbh.db
        .selectFrom("chain_transactions")
        .select(["nonce", "status"])
        .where("from_address", "=", signer)
        .where("nonce", "is not", null)
        .execute();
      const nonces = rows.map((r) => Number(r.nonce)).sort((a, b) => a - b);
      expect(nonces).toEqual(Array.from({ length: nonces.length }, (_, i) => i));
      expect(await chain.clients.publicClient.getTransactionCount({ address: signer, blockTag: "latest" })).toBe(nonces.length);
    }
  };

  beforeAll(async () => {
    chain = await startTestChain({ signers: 2 });
    dbh = await openTestDatabase(name);
    ({ redis, queues } = await openTestQueues(name));
  });

  afterAll(async () => {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGKILL");
    await Promise.all(workers.map((w) => w.exited));
    await queues?.close();
    redis?.disconnect();
    await dbh?.close();
    await chain?.stop();
    await cleanup(name);
  });

  it("a worker SIGKILLed after broadcasting, before its order is completed: another worker's monitor completes it with one mint", async () => {
    const [o] = await seed(1, () => 123_456_789n);
    // Mining paused: the broadcast transaction stays pending, so the kill surely lands
    // between broadcast and receipt.
    await chain.rpc("evm_setAutomine", [false]);
    const a = await startWorker();
    const job = paymentJob(o!.ref);
    await queues.queue("payments").add(job.name, job.data, job.opts);
    const [broadcast] = await waitFor(
      async () => {
        const rows = await carrier(o!.ref);
        return rows[0]?.status === "broadcast" ? rows : undefined;
      },
      30_000,
      "mint transaction broadcast",
    );
    a.child.kill("SIGKILL");
    expect((await a.exited).signal).toBe("SIGKILL");
    expect((await order(o!.ref)).status).toBe("minting");

    // The chain mines what the dead worker broadcast; a new worker's monitor (once the dead
    // one's lease has lapsed) records it and completes the order.
    await chain.rpc("evm_mine", []);
    await startWorker();
    const done = await waitFor(
      async () => ((await order(o!.ref)).status === "completed" ? order(o!.ref) : undefined),
      60_000,
      "order completed after recovery",
    );
    expect(done.mint_tx_hash).toBe(broadcast!.tx_hash);
    expect(await carrier(o!.ref)).toHaveLength(1);
    expect((await carrier(o!.ref))[0]!.status).toBe("confirmed");
    expect(await chain.balanceOf(chain.deployment.securityToken, o!.wallet)).toBe(123_456_789n);
    await expectGapFree();
    await chain.rpc("evm_setAutomine", [true]);
    await stopAll();
  }, 120_000);

  it("SIGKILLed between storing a batch's membership and signing it: after restart the same batch is signed once and every order mints once", async () => {
    const orders = await seed(20, (i) => 10n + BigInt(i));
    const a = await startWorker("batch-stored", { MINT_BATCH_WINDOW_MS: "1000" });
    await queues.queue("payments").addBulk(orders.map((o) => paymentJob(o.ref)));
    const died = await a.exited;
    expect(died.signal).toBe("SIGKILL");
    const [, intentKey, members] = /batch stored (\S+) (\d+)/.exec(a.stdout())!;
    const stored = await dbh.db.selectFrom("chain_transactions").selectAll().where("intent_key", "=", intentKey!).executeTakeFirstOrThrow();
    expect(stored.raw_tx).toBeNull();
    expect(stored.nonce).toBeNull();

    await startWorker();
    await waitFor(() => completed(orders.map((o) => o.ref)), 90_000, "20 orders completed");
    for (const [i, o] of orders.entries()) expect(await chain.balanceOf(chain.deployment.securityToken, o.wallet)).toBe(10n + BigInt(i));
    // The stored batch was resumed (not re-formed): its members are the orders it had, minted by it.
    const memberRows = await dbh.db.selectFrom("mint_intent_orders").select("reference_id").where("intent_key", "=", intentKey!).execute();
    expect(memberRows).toHaveLength(Number(members));
    expect((await dbh.db.selectFrom("chain_transactions").select("status").where("intent_key", "=", intentKey!).executeTakeFirstOrThrow()).status).toBe(
      "confirmed",
    );
    // Each order in exactly one intent.
    const live = await dbh.db
      .selectFrom("mint_intent_orders")
      .select("reference_id")
      .where(
        "reference_id",
        "in",
        orders.map((o) => o.ref),
      )
      .execute();
    expect(live).toHaveLength(20);
    await expectGapFree();
    await stopAll();
  }, 150_000);

  it("SIGKILLed between signing a replacement and recording it: the unrecorded version never reaches the node, and the order mints once", async () => {
    const [o] = await seed(1, () => 42n);
    await chain.rpc("evm_setAutomine", [false]);
    const a = await startWorker("replacement-signed", { CHAIN_REPLACE_AFTER_BLOCKS: "2" });
    const job = paymentJob(o!.ref);
    await queues.queue("payments").add(job.name, job.data, job.opts);
    const [first] = await waitFor(
      async () => {
        const rows = await carrier(o!.ref);
        return rows[0]?.status === "broadcast" ? rows : undefined;
      },
      30_000,
      "mint broadcast",
    );
    // A fee spike the signed bid cannot pay: blocks go by without it, so the monitor replaces it.
    const spike = async () => {
      await chain.rpc("anvil_setNextBlockBaseFeePerGas", [`0x${(BigInt(first!.max_fee_per_gas!) * 3n).toString(16)}`]);
      await chain.rpc("evm_mine", []);
    };
    while (a.child.exitCode === null && a.child.signalCode === null) {
      await spike();
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(a.stdout()).toMatch(/replacement signed/);
    // Nothing but the first version was ever stored or broadcast.
    expect(await dbh.db.selectFrom("chain_tx_versions").select("version").where("intent_key", "=", first!.intent_key).execute()).toEqual([{ version: 0 }]);

    await startWorker(undefined, { CHAIN_REPLACE_AFTER_BLOCKS: "2" });
    const deadline = Date.now() + 90_000;
    while ((await order(o!.ref)).status !== "completed") {
      if (Date.now() > deadline) throw new Error("order not completed after restart");
      await spike();
      await new Promise((r) => setTimeout(r, 200));
    }
    const done = await order(o!.ref);
    const versions = await dbh.db.selectFrom("chain_tx_versions").selectAll().where("intent_key", "=", first!.intent_key).orderBy("version").execute();
    expect(versions.length).toBeGreaterThanOrEqual(2);
    const [row] = await carrier(o!.ref);
    // The order shows the hash that mined, which is a stored version.
    expect(done.mint_tx_hash).toBe(row!.mined_hash);
    expect(versions.map((v) => v.tx_hash)).toContain(done.mint_tx_hash);
    const receipt = await chain.clients.publicClient.getTransactionReceipt({ hash: done.mint_tx_hash as `0x${string}` });
    expect(receipt.status).toBe("success");
    expect(await chain.balanceOf(chain.deployment.securityToken, o!.wallet)).toBe(42n);
    await expectGapFree();
    await chain.rpc("evm_setAutomine", [true]);
    await stopAll();
  }, 150_000);

  it("two worker processes and two signers minting 200 orders at once: every order once, both signers used, nonces gap-free, nothing stuck", async () => {
    // Batches of 20: each process signs several, so the spread over signers shows.
    await startWorker(undefined, { MINT_BATCH_SIZE: "20" });
    await startWorker(undefined, { MINT_BATCH_SIZE: "20" });
    const orders = await seed(200, (i) => 1_000n + BigInt(i));
    await queues.queue("payments").addBulk(orders.map((o) => paymentJob(o.ref)));
    await waitFor(() => completed(orders.map((o) => o.ref)), 150_000, "200 orders completed");
    for (const [i, o] of orders.entries()) expect(await chain.balanceOf(chain.deployment.securityToken, o.wallet)).toBe(1_000n + BigInt(i));
    const carriers = await dbh.db
      .selectFrom("mint_intent_orders as m")
      .innerJoin("chain_transactions as t", "t.intent_key", "m.intent_key")
      .select(["t.intent_key", "t.from_address", "t.status"])
      .where(
        "m.reference_id",
        "in",
        orders.map((o) => o.ref),
      )
      .execute();
    expect(carriers).toHaveLength(200);
    expect(carriers.every((c) => c.status === "confirmed")).toBe(true);
    // Batched: far fewer transactions than orders, spread over both signers.
    const intents = new Set(carriers.map((c) => c.intent_key));
    expect(intents.size).toBeLessThan(50);
    expect(new Set(carriers.map((c) => c.from_address))).toEqual(new Set(chain.signers));
    await expectGapFree();
    const pool = (await chain.rpc("txpool_status", [])) as { pending: string; queued: string };
    expect([Number(pool.pending), Number(pool.queued)]).toEqual([0, 0]);
    const logs = workers.slice(-2).map((w) => w.stdout() + w.stderr());
    for (const log of logs) expect(log).not.toMatch(/nonce too|dead-lettered/i);
  }, 200_000);
});
