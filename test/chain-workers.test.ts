import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import type { Hex } from "viem";
import type { DbHandle } from "../src/db/client.js";
import type { QueueSet } from "../src/queues/queue-set.js";
import { cleanup, testEnv, uniqueName, waitFor } from "./helpers/env.js";
import { ROOT, spawnNode, type Spawned } from "./helpers/process.js";
import { randomWallet, startTestChain, type TestChain } from "./helpers/chain.js";
import { openTestDatabase, openTestQueues } from "./helpers/stack.js";

const name = uniqueName("chain_workers");

// Real worker processes (dist/src/bin/worker.js) against anvil, Redis and Postgres.
describe("mint workers as separate processes", () => {
  let chain: TestChain;
  let dbh: DbHandle;
  let redis: Redis;
  let queues: QueueSet;
  const workers: Spawned[] = [];

  const startWorker = async () => {
    const w = spawnNode(`${ROOT}dist/src/bin/worker.js`, [], testEnv(name, { ...chain.env, WORKER_QUEUES: "payments,mints", WORKER_CONCURRENCY: "10" }));
    workers.push(w);
    await w.waitForOutput(/worker started/, 30_000);
    return w;
  };

  const seedOrders = async (n: number, tokenAmount: (i: number) => bigint) => {
    const rows = Array.from({ length: n }, (_, i) => ({
      id: `inv-${randomUUID()}`,
      wallet: randomWallet(),
      ref: `ATK-TX-${randomUUID()}`,
      amount: tokenAmount(i),
    }));
    await dbh.db
      .insertInto("investors")
      .values(
        rows.map((r) => ({
          id: r.id,
          wallet: r.wallet,
          first_name: "A",
          last_name: "B",
          date_of_birth: "1980-01-01",
          nationality: "DE",
          kyc_status: "approved" as const,
        })),
      )
      .execute();
    await dbh.db
      .insertInto("orders")
      .values(
        rows.map((r) => ({
          reference_id: r.ref,
          investor_id: r.id,
          token_address: chain.deployment.securityToken,
          token_amount: r.amount.toString(),
          expected_amount: "100",
          currency: "USD",
        })),
      )
      .execute();
    return rows;
  };

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
  const tx = (ref: string) => dbh.db.selectFrom("chain_transactions").selectAll().where("intent_key", "=", `mint:${ref}`).execute();

  beforeAll(async () => {
    chain = await startTestChain();
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

  it("a worker SIGKILLed after broadcasting, before recording the receipt: recovery completes the order with one mint", async () => {
    const [o] = await seedOrders(1, () => 123_456_789n);
    // Mining paused: the broadcast transaction stays pending, so the kill surely lands
    // between broadcast and receipt.
    await chain.rpc("evm_setAutomine", [false]);
    const a = await startWorker();
    const job = paymentJob(o!.ref);
    await queues.queue("payments").add(job.name, job.data, job.opts);
    const [broadcast] = await waitFor(
      async () => {
        const rows = await tx(o!.ref);
        return rows[0]?.status === "broadcast" ? rows : undefined;
      },
      30_000,
      "mint transaction broadcast",
    );
    a.child.kill("SIGKILL");
    expect((await a.exited).signal).toBe("SIGKILL");
    const pending = (await chain.rpc("eth_getTransactionByHash", [broadcast!.tx_hash])) as { blockNumber: string | null };
    expect(pending.blockNumber).toBeNull();
    expect((await order(o!.ref)).status).toBe("minting");

    // The chain mines what the dead worker broadcast; nobody has recorded the receipt.
    await chain.rpc("evm_setAutomine", [true]);
    await chain.rpc("evm_mine", []);
    expect((await tx(o!.ref))[0]!.status).toBe("broadcast");

    // A new worker's start-up sweep reads the stored transaction's receipt and completes the
    // order (the interrupted job, handed out again once its lock expires, finds it completed).
    const b = await startWorker();
    const done = await waitFor(
      async () => {
        const row = await order(o!.ref);
        return row.status === "completed" ? row : undefined;
      },
      120_000,
      "order completed after recovery",
    );
    await b.waitForOutput(/completed orders whose mint was mined by a process that died/, 10_000);
    expect(done.mint_tx_hash).toBe(broadcast!.tx_hash);
    const rows = await tx(o!.ref);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.status).toBe("confirmed");
    expect(await chain.balanceOf(chain.deployment.securityToken, o!.wallet)).toBe(123_456_789n);
    // One transaction from the signer in all: nothing was signed twice.
    expect(await chain.signerNonce()).toBe(1);
  }, 180_000);

  it("killed after broadcasting, mined only after a new worker started: the interrupted job, handed out again, reuses the stored transaction", async () => {
    // Only the processes of this test may take the job.
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGTERM");
    await Promise.all(workers.map((w) => w.exited));
    const nonceBefore = await chain.signerNonce();
    const [o] = await seedOrders(1, () => 5n);
    await chain.rpc("evm_setAutomine", [false]);
    const a = await startWorker();
    const job = paymentJob(o!.ref);
    await queues.queue("payments").add(job.name, job.data, job.opts);
    const [broadcast] = await waitFor(
      async () => {
        const rows = await tx(o!.ref);
        return rows[0]?.status === "broadcast" ? rows : undefined;
      },
      30_000,
      "mint transaction broadcast",
    );
    a.child.kill("SIGKILL");
    await a.exited;
    const c2 = await startWorker();
    // Its start-up sweep found nothing mined yet; now the chain mines the pending transaction.
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await order(o!.ref)).status).toBe("minting");
    await chain.rpc("evm_setAutomine", [true]);
    await chain.rpc("evm_mine", []);
    const done = await waitFor(
      async () => {
        const row = await order(o!.ref);
        return row.status === "completed" ? row : undefined;
      },
      150_000,
      "the interrupted job to complete the order",
    );
    expect(done.mint_tx_hash).toBe(broadcast!.tx_hash);
    expect(c2.stdout()).toMatch(new RegExp(`"referenceId":"${o!.ref}".*"order minted"`));
    expect(await tx(o!.ref)).toHaveLength(1);
    expect(await chain.balanceOf(chain.deployment.securityToken, o!.wallet)).toBe(5n);
    expect(await chain.signerNonce()).toBe(nonceBefore + 1);
  }, 200_000);

  it("two worker processes minting 100 orders at once: every order once, no nonce errors, nothing stuck", async () => {
    const live = workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
    while (live.length < 2) live.push(await startWorker());
    const nonceBefore = await chain.signerNonce();
    const orders = await seedOrders(100, (i) => 1_000n + BigInt(i));
    await queues.queue("payments").addBulk(orders.map((o) => paymentJob(o.ref)));
    await waitFor(
      async () => {
        const { count } = await dbh.db
          .selectFrom("orders")
          .select((eb) => eb.fn.countAll<string>().as("count"))
          .where(
            "reference_id",
            "in",
            orders.map((o) => o.ref),
          )
          .where("status", "=", "completed")
          .executeTakeFirstOrThrow();
        return Number(count) === 100;
      },
      150_000,
      "100 orders completed",
    );

    for (const [i, o] of orders.entries()) expect(await chain.balanceOf(chain.deployment.securityToken, o.wallet)).toBe(1_000n + BigInt(i));
    const txs = await dbh.db
      .selectFrom("chain_transactions")
      .selectAll()
      .where(
        "intent_key",
        "in",
        orders.map((o) => `mint:${o.ref}`),
      )
      .execute();
    expect(txs).toHaveLength(100);
    expect(txs.every((t) => t.status === "confirmed")).toBe(true);
    const nonces = txs.map((t) => Number(t.nonce)).sort((a, b) => a - b);
    expect(nonces).toEqual(Array.from({ length: 100 }, (_, i) => nonceBefore + i));
    expect(await chain.signerNonce()).toBe(nonceBefore + 100);
    // Nothing pending in the node's pool, and no transaction left unconfirmed in the ledger.
    const pool = (await chain.rpc("txpool_status", [])) as { pending: string; queued: string };
    expect([Number(pool.pending), Number(pool.queued)]).toEqual([0, 0]);
    const open = await dbh.db.selectFrom("chain_transactions").select("intent_key").where("status", "not in", ["confirmed", "reverted"]).execute();
    expect(open).toEqual([]);
    // Both processes minted, and neither hit a nonce error or a retry.
    const logs = live.map((w) => w.stdout() + w.stderr());
    for (const log of logs) expect(log).toMatch(/order minted/);
    for (const log of logs) expect(log).not.toMatch(/nonce too|will retry|dead-lettered/i);
    const hashes = txs.map((t) => t.tx_hash as Hex);
    expect(new Set(hashes).size).toBe(100);
  }, 240_000);
});
