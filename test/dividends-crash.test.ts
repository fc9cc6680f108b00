import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import { parseAbiItem, type Address } from "viem";
import { ANVIL_KEYS } from "../src/chain/anvil.js";
import { securityTokenAbi } from "../src/chain/artifacts/SecurityToken.js";
import { stablecoinAbi } from "../src/chain/artifacts/Stablecoin.js";
import { createChainClients } from "../src/chain/clients.js";
import { deploySecurityToken } from "../src/chain/deploy.js";
import type { DbHandle } from "../src/db/client.js";
import type { Database } from "../src/db/schema.js";
import { approveIntentKey, batchIntentKey } from "../src/processors/dividends/run-distribution.js";
import type { QueueSet } from "../src/queues/queue-set.js";
import { randomWallet, startTestChain, type TestChain } from "./helpers/chain.js";
import { cleanup, testEnv, uniqueName, waitFor } from "./helpers/env.js";
import { ROOT, spawnNode, type Spawned } from "./helpers/process.js";
import { openTestDatabase, openTestQueues } from "./helpers/stack.js";

const name = uniqueName("dividends_crash");
const E18 = 10n ** 18n;

// Real worker processes (dist/src/bin/worker.js); the first is SIGKILLed mid-payout.
describe("a dividend worker killed mid-payout", () => {
  let chain: TestChain;
  let dbh: DbHandle;
  let redis: Redis;
  let queues: QueueSet;
  const workers: Spawned[] = [];

  const startWorker = async () => {
    const w = spawnNode(
      `${ROOT}dist/src/bin/worker.js`,
      [],
      testEnv(name, {
        ...chain.env,
        WORKER_QUEUES: "dividends-due,dividend-payouts",
        DIVIDEND_BATCH_CONTRACT: chain.deployment.batchTransfer,
        DIVIDEND_BATCH_SIZE: "2",
        DIVIDEND_PAYOUT_CONCURRENCY: "1",
        // The killed run's job is handed out again within seconds, not a minute.
        WORKER_LOCK_DURATION_MS: "5000",
      }),
    );
    workers.push(w);
    await w.waitForOutput(/worker started/, 30_000);
    return w;
  };
  const db = () => dbh.db as unknown as import("kysely").Kysely<Database>;
  const txRow = (intentKey: string) => db().selectFrom("chain_transactions").selectAll().where("intent_key", "=", intentKey).executeTakeFirst();
  const mineWhenBroadcast = async (intentKey: string) => {
    const row = await waitFor(async () => ((await txRow(intentKey))?.status === "broadcast" ? txRow(intentKey) : undefined), 60_000, `${intentKey} broadcast`);
    await chain.rpc("evm_mine");
    return row!;
  };

  beforeAll(async () => {
    chain = await startTestChain();
    const signer = createChainClients({ rpcUrl: chain.anvil.url, chainId: 31337, privateKey: ANVIL_KEYS.signer, pollingIntervalMs: 50 });
    const hash = await signer.walletClient.writeContract({
      address: chain.deployment.stablecoin,
      abi: stablecoinAbi,
      functionName: "mint",
      args: [chain.signer, 10n ** 15n],
    });
    await signer.publicClient.waitForTransactionReceipt({ hash });
    dbh = await openTestDatabase(name);
    ({ redis, queues } = await openTestQueues(name));
  }, 120_000);

  afterAll(async () => {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGKILL");
    await Promise.all(workers.map((w) => w.exited));
    await queues?.close();
    redis?.disconnect();
    await dbh?.close();
    await chain?.stop();
    await cleanup(name);
  });

  it("resumes after restart: paid batches skipped, the stored transaction rebroadcast (not re-signed), nobody paid twice", async () => {
    const deployer = chain.clients;
    const token = await deploySecurityToken(deployer, deployer.account.address, "Crash Dividend", "CRD");
    const holders = Array.from({ length: 8 }, () => randomWallet());
    for (const [i, holder] of holders.entries()) {
      const h = await deployer.walletClient.writeContract({
        address: token,
        abi: securityTokenAbi,
        functionName: "mint",
        args: [holder, BigInt(i + 1) * E18 + 12_345n],
      });
      await deployer.publicClient.waitForTransactionReceipt({ hash: h });
    }
    const recordBlock = await deployer.publicClient.getBlockNumber();
    const amountPerToken = 2_500_001n;
    const expected = new Map(holders.map((h, i) => [h.toLowerCase(), ((BigInt(i + 1) * E18 + 12_345n) * amountPerToken) / E18]));
    const id = "div-crash-1";
    await db()
      .insertInto("distributions")
      .values({
        id,
        token_address: token,
        record_block: recordBlock.toString(),
        payment_date: new Date(Date.now() - 60_000),
        amount_per_token: amountPerToken.toString(),
        payout_token_address: chain.deployment.stablecoin,
        registrar_idempotency_key: `hookrail-dividend-${id}`,
      })
      .execute();

    // Mining by hand: each transaction stays pending until the test mines it.
    await chain.rpc("evm_setAutomine", [false]);
    const a = await startWorker();
    await queues.queue("dividends-due").add("due", {});
    await mineWhenBroadcast(approveIntentKey(chain.deployment.stablecoin, chain.deployment.batchTransfer));
    await mineWhenBroadcast(batchIntentKey(id, 0));
    await waitFor(
      async () => {
        const paid = await db().selectFrom("distribution_lines").select("holder").where("distribution_id", "=", id).where("status", "=", "paid").execute();
        return paid.length === 2;
      },
      60_000,
      "first batch paid",
    );
    const pendingBatch = await waitFor(
      async () => {
        const row = await txRow(batchIntentKey(id, 1));
        return row?.status === "broadcast" ? row : undefined;
      },
      60_000,
      "second batch broadcast",
    );
    a.child.kill("SIGKILL");
    expect((await a.exited).signal).toBe("SIGKILL");
    // The node forgets the pending transaction too: only the stored bytes can bring it back.
    await chain.rpc("anvil_dropTransaction", [pendingBatch.tx_hash]);
    expect(await chain.rpc("eth_getTransactionByHash", [pendingBatch.tx_hash])).toBeNull();
    await chain.rpc("evm_setAutomine", [true]);
    const paidBefore = await db()
      .selectFrom("distribution_lines")
      .select(["holder", "tx_hash"])
      .where("distribution_id", "=", id)
      .where("status", "=", "paid")
      .execute();
    expect(paidBefore).toHaveLength(2);

    await startWorker();
    // The killed run's job is picked up again once its lock expires (BullMQ stalled check).
    const done = await waitFor(
      async () => {
        const d = await db().selectFrom("distributions").selectAll().where("id", "=", id).executeTakeFirst();
        return d?.status === "completed" ? d : undefined;
      },
      120_000,
      "distribution completed after restart",
    );

    // Exactly the computed amount, once, for every holder (balances and Transfer events).
    for (const [holder, amount] of expected) expect(await chain.balanceOf(chain.deployment.stablecoin, holder as Address), holder).toBe(amount);
    const transfers = await deployer.publicClient.getLogs({
      address: chain.deployment.stablecoin,
      event: parseAbiItem("event Transfer(address indexed from, address indexed to, uint256 value)"),
      args: { from: chain.signer },
      fromBlock: recordBlock,
    });
    expect(transfers.map((t) => t.args.to!.toLowerCase()).sort()).toEqual([...expected.keys()].sort());
    const lines = await db().selectFrom("distribution_lines").selectAll().where("distribution_id", "=", id).orderBy("holder").execute();
    expect(lines).toHaveLength(8);
    expect(lines.every((l) => l.status === "paid")).toBe(true);
    for (const l of lines) expect(BigInt(l.amount)).toBe(expected.get(l.holder));
    // Lines paid before the crash kept their transaction; the pending one was never re-signed.
    for (const p of paidBefore) expect(lines.find((l) => l.holder === p.holder)!.tx_hash).toBe(p.tx_hash);
    expect((await txRow(batchIntentKey(id, 1)))!.tx_hash).toBe(pendingBatch.tx_hash);
    expect(lines.filter((l) => l.tx_hash === pendingBatch.tx_hash)).toHaveLength(2);
    const batches = await db().selectFrom("chain_transactions").select(["status", "nonce"]).where("intent_key", "like", `dividend-${id}-batch-%`).execute();
    expect(batches).toHaveLength(4);
    expect(batches.every((b) => b.status === "confirmed")).toBe(true);
    expect(new Set(batches.map((b) => b.nonce)).size).toBe(4);
    expect(BigInt(done.total_paid)).toBe([...expected.values()].reduce((s, v) => s + v, 0n));
    expect(done.total_paid).toBe(done.total_due);
    // Every signer transaction on chain is one hookrail stored: funding, approval, four batches.
    expect(await chain.signerNonce()).toBe(1 + 1 + 4);
  }, 240_000);
});
