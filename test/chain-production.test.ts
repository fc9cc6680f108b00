import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { erc20Abi, parseGwei, type Address, type Hex } from "viem";
import { securityTokenAbi } from "../src/chain/artifacts/SecurityToken.js";
import { deployMintableToken, deploySecurityToken } from "../src/chain/deploy.js";
import { listDeadLetters } from "../src/queues/dead-letter.js";
import { completedJob, waitFor } from "./helpers/env.js";
import { blockProducer, randomWallet, startTestChain, type TestChain } from "./helpers/chain.js";
import { seedOrders } from "./helpers/orders.js";
import { startStack, type TestStack } from "./helpers/stack.js";

// The chain behaves like a real one here: automine is off and the test produces the blocks
// (with fee spikes and reorgs where the test is about them). A worker side runs in this
// process with the monitor; orders are put in `minting` and their mint jobs queued, as the
// payment processor does.
describe("mints on a chain with blocks, fee spikes, reorgs and dropped transactions", () => {
  let chain: TestChain;
  let stack: TestStack;
  const CAP = parseGwei("1000");

  /** The test makes the blocks (see blockProducer). */
  let producer: ReturnType<typeof blockProducer> | undefined;
  const mineOne = () => producer!.mineOne();
  const startMining = () => producer!.start();
  const stopMining = async () => producer?.stop();

  const head = async () => chain.clients.publicClient.getBlockNumber({ cacheTime: 0 });

  /** Orders as the payment processor leaves them (`minting`), their mint jobs queued. */
  const seed = async (n: number, token: Address, amount: (i: number) => bigint) => {
    const rows = await seedOrders(stack.c.dbh.db, n, token, amount, "minting");
    await stack.c.queues.queue("mints").addBulk(rows.map((r) => ({ name: "mint", data: { referenceId: r.ref }, opts: { jobId: `mint-${r.ref}` } })));
    return rows;
  };
  const carriers = (refs: string[]) =>
    stack.c.dbh.db
      .selectFrom("mint_intent_orders as m")
      .innerJoin("chain_transactions as t", "t.intent_key", "m.intent_key")
      .selectAll("t")
      .select("m.reference_id")
      .where("m.reference_id", "in", refs)
      .where("m.live", "=", true)
      .execute();
  const allCarriers = async (refs: string[], status: string[]) => {
    const rows = await carriers(refs);
    return rows.length === refs.length && rows.every((r) => status.includes(r.status)) ? rows : undefined;
  };
  const orders = (refs: string[]) => stack.c.dbh.db.selectFrom("orders").selectAll().where("reference_id", "in", refs).execute();
  const completed = async (refs: string[]) => (await orders(refs)).filter((o) => o.status === "completed").length;
  const balance = (token: Address, holder: Address) => chain.balanceOf(token, holder);
  /** Every order completed with the hash that actually mined (successfully), and its wallet holds exactly its amount. */
  const expectMintedOnce = async (token: Address, rows: { ref: string; wallet: Address; amount: bigint }[]) => {
    const byRef = new Map((await orders(rows.map((r) => r.ref))).map((o) => [o.reference_id, o]));
    for (const r of rows) {
      const o = byRef.get(r.ref)!;
      expect(o.status).toBe("completed");
      const receipt = await chain.clients.publicClient.getTransactionReceipt({ hash: o.mint_tx_hash as Hex });
      expect(receipt.status).toBe("success");
      expect(await balance(token, r.wallet)).toBe(r.amount);
    }
  };
  const expectGapFree = async () => {
    for (const signer of chain.signers) {
      const rows = await stack.c.dbh.db
        .selectFrom("chain_transactions")
        .select("nonce")
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
    producer = blockProducer(chain);
    await chain.rpc("evm_setAutomine", [false]);
    stack = await startStack("chain_prod", {
      env: { ...chain.env, CHAIN_CONFIRMATIONS: "3", CHAIN_REPLACE_AFTER_BLOCKS: "3", CHAIN_MAX_FEE_PER_GAS: CAP.toString(), MINT_BATCH_WINDOW_MS: "300" },
      worker: true,
    });
  });
  afterAll(async () => {
    await stopMining();
    await stack?.close();
    await chain?.stop();
  });

  it("a fee spike above every signed bid: pending mints are replaced and mined during the spike, at or under the cap", async () => {
    const token = chain.deployment.securityToken;
    const rows = await seed(30, token, (i) => 7n + BigInt(i));
    const signed = await waitFor(
      () =>
        allCarriers(
          rows.map((r) => r.ref),
          ["broadcast"],
        ),
      30_000,
      "mints broadcast",
    );
    const bids = signed.map((c) => BigInt(c.max_fee_per_gas!));
    // From now on every block's base fee is 300 gwei: far above what any of them bid.
    producer!.baseFee = parseGwei("300");
    expect(bids.every((b) => b < producer!.baseFee!)).toBe(true);
    const spikeStart = await head();
    startMining();
    await waitFor(async () => (await completed(rows.map((r) => r.ref))) === rows.length, 60_000, "mints completed during the spike");
    await stopMining();
    const spikeEnd = await head();
    producer!.baseFee = undefined;

    const final = await carriers(rows.map((r) => r.ref));
    for (const c of final) {
      expect(c.status).toBe("confirmed");
      expect(c.version).toBeGreaterThan(0);
      expect(BigInt(c.block_number!)).toBeGreaterThan(spikeStart);
      expect(BigInt(c.block_number!)).toBeLessThanOrEqual(spikeEnd);
      const tx = await chain.clients.publicClient.getTransaction({ hash: c.mined_hash as Hex });
      expect(tx.maxFeePerGas! <= CAP).toBe(true);
      expect(tx.maxFeePerGas! >= parseGwei("300")).toBe(true);
    }
    // Every version is stored; the order shows the one that mined.
    const versions = await stack.c.dbh.db
      .selectFrom("chain_tx_versions")
      .select(["intent_key", "tx_hash"])
      .where(
        "intent_key",
        "in",
        final.map((c) => c.intent_key),
      )
      .execute();
    expect(versions.length).toBeGreaterThan(new Set(final.map((c) => c.intent_key)).size);
    const byRef = new Map((await orders(rows.map((r) => r.ref))).map((o) => [o.reference_id, o]));
    for (const c of final) expect(byRef.get(c.reference_id)!.mint_tx_hash).toBe(c.mined_hash);
    await expectMintedOnce(token, rows);
    await expectGapFree();
  }, 120_000);

  it("a base fee above CHAIN_MAX_FEE_PER_GAS: the mint is bid up to the cap, reported stuck, and mines once the base fee falls", async () => {
    const token = chain.deployment.securityToken;
    const rows = await seed(1, token, () => 3n);
    await waitFor(() => allCarriers([rows[0]!.ref], ["broadcast"]), 30_000, "mint broadcast");
    const stuckGauge = async () => (await stack.c.metrics.registry.getSingleMetric("hookrail_chain_stuck_transactions")!.get()).values[0]?.value;
    producer!.baseFee = CAP * 2n;
    startMining();
    const atCap = await waitFor(
      async () => {
        const [c] = await carriers([rows[0]!.ref]);
        return c!.stuck && (await stuckGauge()) === 1 ? c : undefined;
      },
      60_000,
      "mint reported stuck at the cap",
    );
    expect(BigInt(atCap!.max_fee_per_gas!)).toBe(CAP);
    expect(await completed([rows[0]!.ref])).toBe(0);
    // The spike ends; the base fee falls 12.5% a block until the capped bid pays it.
    producer!.baseFee = undefined;
    await waitFor(async () => (await completed([rows[0]!.ref])) === 1, 60_000, "mint completed after the spike");
    await stopMining();
    await expectMintedOnce(token, rows);
    expect(await stuckGauge()).toBe(0);
    const versions = await stack.c.dbh.db.selectFrom("chain_tx_versions").select("max_fee_per_gas").where("intent_key", "=", atCap!.intent_key).execute();
    expect(versions.every((v) => BigInt(v.max_fee_per_gas) <= CAP)).toBe(true);
  }, 120_000);

  it("a reorg of 2 blocks with CHAIN_CONFIRMATIONS=3: nothing completes before 3 confirmations; after the reorg every order is minted exactly once", async () => {
    const token = chain.deployment.securityToken;
    const supplyBefore = await chain.clients.publicClient.readContract({ address: token, abi: erc20Abi, functionName: "totalSupply" });
    const rows = await seed(10, token, (i) => 1_000n + BigInt(i));
    await waitFor(
      () =>
        allCarriers(
          rows.map((r) => r.ref),
          ["broadcast"],
        ),
      30_000,
      "mints broadcast",
    );
    await mineOne();
    const mined = await waitFor(
      () =>
        allCarriers(
          rows.map((r) => r.ref),
          ["mined"],
        ),
      10_000,
      "mints seen mined",
    );
    const minedBlock = BigInt(mined[0]!.block_number!);
    await mineOne(); // 2 confirmations
    await new Promise((r) => setTimeout(r, 500));
    expect(await completed(rows.map((r) => r.ref))).toBe(0);
    expect((await carriers(rows.map((r) => r.ref))).every((c) => c.status === "mined")).toBe(true);

    // Both blocks replaced by empty ones: the mints are no longer on the chain.
    await chain.rpc("anvil_reorg", [2, []]);
    expect(await head()).toBe(minedBlock + 1n);
    await waitFor(async () => (await carriers(rows.map((r) => r.ref))).every((c) => c.reorgs > 0 && c.status !== "confirmed"), 10_000, "reorg seen");
    expect(await completed(rows.map((r) => r.ref))).toBe(0);

    startMining();
    await waitFor(async () => (await completed(rows.map((r) => r.ref))) === rows.length, 60_000, "mints completed after the reorg");
    await stopMining();
    for (const c of await carriers(rows.map((r) => r.ref))) {
      const h = await head();
      expect(h - BigInt(c.block_number!) + 1n).toBeGreaterThanOrEqual(3n);
    }
    await expectMintedOnce(token, rows);
    const supplyAfter = await chain.clients.publicClient.readContract({ address: token, abi: erc20Abi, functionName: "totalSupply" });
    expect(supplyAfter - supplyBefore).toBe(rows.reduce((s, r) => s + r.amount, 0n));
    await expectGapFree();
  }, 120_000);

  it("a transaction dropped from the node's pool is rebroadcast and mined; the nonce after it waits and mines too, gap-free", async () => {
    // Two tokens: two transactions from one signer, consecutive nonces.
    startMining();
    const second = await deploySecurityToken(chain.clients, chain.clients.account.address, "Second", "SND", chain.signers);
    await stopMining();
    const a = await seed(1, chain.deployment.securityToken, () => 5n);
    const b = await seed(1, second, () => 6n);
    const [ca, cb] = await Promise.all([
      waitFor(() => allCarriers([a[0]!.ref], ["broadcast"]), 30_000, "first broadcast"),
      waitFor(() => allCarriers([b[0]!.ref], ["broadcast"]), 30_000, "second broadcast"),
    ]);
    // The lower nonce of the pair is the one whose loss stalls the other.
    const [low] = [ca[0]!, cb[0]!].filter((c) => c.from_address === ca[0]!.from_address).sort((x, y) => Number(x.nonce) - Number(y.nonce));
    await chain.rpc("anvil_dropTransaction", [low!.tx_hash]);
    expect(await chain.rpc("eth_getTransactionByHash", [low!.tx_hash])).toBeNull();
    startMining();
    await waitFor(async () => (await completed([a[0]!.ref, b[0]!.ref])) === 2, 60_000, "both completed");
    await stopMining();
    await expectMintedOnce(chain.deployment.securityToken, a);
    await expectMintedOnce(second, b);
    const lowNow = (await carriers([low!.reference_id]))[0]!;
    expect(lowNow.broadcasts).toBeGreaterThan(1);
    expect(lowNow.mined_hash).toBe(low!.tx_hash); // the same signed bytes, not a new transaction
    await expectGapFree();
  }, 120_000);

  it("a batch with one order the token refuses (a frozen address) mints the others in one transaction and dead-letters that one", async () => {
    const token = chain.deployment.securityToken;
    const frozenWallet = randomWallet();
    // The deployer is the token's admin: freezing does not touch the signers' nonces.
    const freeze = await chain.clients.walletClient.writeContract({
      address: token,
      abi: securityTokenAbi,
      functionName: "setAddressFrozen",
      args: [frozenWallet, true],
    });
    await mineOne();
    expect((await chain.clients.publicClient.getTransactionReceipt({ hash: freeze })).status).toBe("success");
    const rows = await seed(12, token, (i) => 50n + BigInt(i));
    const db = stack.c.dbh.db;
    const bad = rows[5]!;
    await db.updateTable("investors").set({ wallet: frozenWallet }).where("id", "=", bad.id).execute();
    const good = rows.filter((r) => r !== bad);
    startMining();
    await waitFor(async () => (await completed(good.map((r) => r.ref))) === good.length, 60_000, "the others completed");
    await stopMining();
    await expectMintedOnce(token, good);
    const intents = new Set((await carriers(good.map((r) => r.ref))).map((c) => c.intent_key));
    expect(intents.size).toBe(1);
    expect([...intents][0]).toMatch(/^mint-batch:/);
    // The refused order: no intent, nothing minted, a dead letter naming the revert.
    expect(await carriers([bad.ref])).toEqual([]);
    expect(await balance(token, frozenWallet)).toBe(0n);
    const letter = await waitFor(
      async () => (await listDeadLetters(stack.c.queues.deadLetters("mints"))).find((l) => l.jobId === `mint-${bad.ref}`),
      10_000,
      "dead letter of the refused order",
    );
    expect(letter.failedReason).toMatch(/AddressFrozen|would revert/);
    const badOrder = (await orders([bad.ref]))[0]!;
    expect(badOrder.status).toBe("minting");
    expect(badOrder.failure_reason).toMatch(/would revert/);
  }, 120_000);

  it("two mint jobs of one order in one batch window (its first job and a retry's): one place in the batch, minted once, both jobs done with the same intent", async () => {
    const token = chain.deployment.securityToken;
    const rows = await seedOrders(stack.c.dbh.db, 3, token, (i) => 70n + BigInt(i), "minting");
    const twice = rows[0]!;
    await stack.c.queues
      .queue("mints")
      .addBulk([
        ...rows.map((r) => ({ name: "mint", data: { referenceId: r.ref }, opts: { jobId: `mint-${r.ref}` } })),
        { name: "mint", data: { referenceId: twice.ref }, opts: { jobId: `mint-${twice.ref}-retry-1` } },
      ]);
    startMining();
    await waitFor(async () => (await completed(rows.map((r) => r.ref))) === rows.length, 60_000, "orders completed");
    const first = await completedJob(stack.c.queues.queue("mints"), `mint-${twice.ref}`, 20_000);
    const second = await completedJob(stack.c.queues.queue("mints"), `mint-${twice.ref}-retry-1`, 20_000);
    await stopMining();
    await expectMintedOnce(token, rows);
    const [carrier, ...others] = await carriers([twice.ref]);
    expect(others).toEqual([]);
    expect(first.returnvalue.intentKey).toBe(carrier!.intent_key);
    expect(second.returnvalue.intentKey).toBe(carrier!.intent_key);
  }, 60_000);

  it("orders of a token without batchMint get one mint transaction each", async () => {
    startMining();
    const token = await deployMintableToken(chain.clients, chain.clients.account.address, "Plain", "PLN", chain.signers);
    const rows = await seed(3, token, (i) => 9n + BigInt(i));
    await waitFor(async () => (await completed(rows.map((r) => r.ref))) === rows.length, 60_000, "plain token mints completed");
    await stopMining();
    await expectMintedOnce(token, rows);
    const keys = (await carriers(rows.map((r) => r.ref))).map((c) => c.intent_key).sort();
    expect(keys).toEqual(rows.map((r) => `mint:${r.ref}`).sort());
  }, 60_000);
});
