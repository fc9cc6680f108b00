import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { erc20Abi, parseGwei, type Address, type Hex } from "viem";
import { ANVIL_KEYS } from "../src/chain/anvil.js";
import { securityTokenAbi } from "../src/chain/artifacts/SecurityToken.js";
import { stablecoinAbi } from "../src/chain/artifacts/Stablecoin.js";
import { createChainClients } from "../src/chain/clients.js";
import { deploySecurityToken } from "../src/chain/deploy.js";
import { enqueuePayouts } from "../src/processors/dividends/payouts.js";
import { blockProducer, randomWallet, startTestChain, type TestChain } from "./helpers/chain.js";
import { waitFor } from "./helpers/env.js";
import { startStack, type TestStack } from "./helpers/stack.js";

const TOKEN = "dividends-chain-admin-token-0123";
const E18 = 10n ** 18n;

// Dividend payouts go through the same sender and monitor as mints: on a chain that makes
// blocks only when the test says so, a payout line is paid only once its transaction has
// CHAIN_CONFIRMATIONS, and a payout bid under a fee spike is replaced and still pays once.
describe("dividend payouts on a chain with blocks and a fee spike", () => {
  let chain: TestChain;
  let stack: TestStack;

  /** The test makes the blocks (see blockProducer). */
  let producer: ReturnType<typeof blockProducer> | undefined;
  const mineOne = () => producer!.mineOne();
  const startMining = () => producer!.start();
  const stopMining = async () => producer?.stop();

  beforeAll(async () => {
    chain = await startTestChain();
    producer = blockProducer(chain);
    // Fund the treasury before hookrail takes over the signer's nonces (automine still on).
    const signer = createChainClients({ rpcUrl: chain.anvil.url, chainId: 31337, privateKey: ANVIL_KEYS.signer, pollingIntervalMs: 50 });
    await chain.clients.publicClient.waitForTransactionReceipt({
      hash: await signer.walletClient.writeContract({
        address: chain.deployment.stablecoin,
        abi: stablecoinAbi,
        functionName: "mint",
        args: [chain.signer, 10n ** 15n],
      }),
    });
    stack = await startStack("dividends_chain", {
      env: {
        ...chain.env,
        ADMIN_API_TOKEN: TOKEN,
        CHAIN_CONFIRMATIONS: "2",
        CHAIN_REPLACE_AFTER_BLOCKS: "2",
        DIVIDEND_BATCH_CONTRACT: chain.deployment.batchTransfer,
        DIVIDEND_BATCH_SIZE: "2",
        WORKER_QUEUES: "dividend-payouts",
      },
      web: true,
      worker: true,
    });
  }, 120_000);
  /** Declare a distribution paid at once (payment date just past); its id. */
  const declare = async (token: Address, recordBlock: bigint, amountPerToken: bigint, payoutToken: Address): Promise<string> => {
    const res = await fetch(`${stack.base}/api/distributions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({
        tokenAddress: token,
        recordBlock: Number(recordBlock),
        paymentDate: new Date(Date.now() - 1_000).toISOString(),
        amountPerToken: amountPerToken.toString(),
        payoutTokenAddress: payoutToken,
      }),
    });
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  };
  afterAll(async () => {
    await stopMining();
    await stack?.close();
    await chain?.stop();
  });

  it("lines are paid only at 2 confirmations; a spike above the signed bids is outbid by replacements; every holder paid once", async () => {
    const token = await deploySecurityToken(chain.clients, chain.clients.account.address, "Chain Dividend", "CHD");
    const holders = Array.from({ length: 5 }, (_, i) => ({ wallet: randomWallet(), balance: BigInt(i + 1) * E18 }));
    for (const h of holders) {
      await chain.clients.publicClient.waitForTransactionReceipt({
        hash: await chain.clients.walletClient.writeContract({ address: token, abi: securityTokenAbi, functionName: "mint", args: [h.wallet, h.balance] }),
      });
    }
    const recordBlock = await chain.clients.publicClient.getBlockNumber();
    // From here the test makes every block.
    await chain.rpc("evm_setAutomine", [false]);
    const amountPerToken = 2_500_000n; // 2.5 payout units (6 decimals) per whole token
    const id = await declare(token, recordBlock, amountPerToken, chain.deployment.stablecoin);
    // What the dividends-due scheduler does once the payment date has come.
    await enqueuePayouts(stack.c.queues, [id]);
    const db = stack.c.dbh.db;
    const payoutIntents = () => db.selectFrom("chain_transactions").selectAll().where("intent_key", "like", `dividend-%`).execute();

    // The standing approval is the first payout transaction; it sits in the pool until a block.
    await waitFor(async () => (await payoutIntents()).some((t) => t.status === "broadcast"), 30_000, "first payout transaction broadcast");
    await mineOne();
    await waitFor(async () => (await payoutIntents()).some((t) => t.status === "mined"), 10_000, "first payout transaction seen mined");
    // One confirmation is not enough: nothing is final, no line is paid.
    await new Promise((r) => setTimeout(r, 400));
    expect((await payoutIntents()).filter((t) => t.status === "confirmed")).toEqual([]);
    expect(await db.selectFrom("distribution_lines").select("holder").where("distribution_id", "=", id).where("status", "=", "paid").execute()).toEqual([]);

    // The second block confirms the approval; the payout batches are then signed at the fee of the moment.
    await mineOne();
    const batches = await waitFor(
      async () => {
        const rows = (await payoutIntents()).filter((t) => t.intent_key.includes("-batch-"));
        return rows.length === 3 && rows.every((t) => t.status === "broadcast") ? rows : undefined;
      },
      30_000,
      "payout batches broadcast",
    );
    expect(await db.selectFrom("distribution_lines").select("holder").where("distribution_id", "=", id).where("status", "=", "paid").execute()).toEqual([]);
    // A spike above every signed bid while the batches are pending.
    producer!.baseFee = parseGwei("400");
    for (const b of batches) expect(BigInt(b.max_fee_per_gas!) < producer!.baseFee!).toBe(true);
    startMining();
    await waitFor(
      async () => {
        const d = await db.selectFrom("distributions").select("status").where("id", "=", id).executeTakeFirstOrThrow();
        return d.status === "completed";
      },
      90_000,
      "distribution completed",
    );
    await stopMining();
    producer!.baseFee = undefined;

    const head = await chain.clients.publicClient.getBlockNumber({ cacheTime: 0 });
    const intents = await payoutIntents();
    expect(intents.every((t) => t.status === "confirmed")).toBe(true);
    // Some payout was replaced to get through the spike; whichever version mined is what the lines show.
    expect(intents.some((t) => t.version > 0)).toBe(true);
    for (const t of intents) expect(head - BigInt(t.block_number!) + 1n).toBeGreaterThanOrEqual(2n);
    const lines = await db.selectFrom("distribution_lines").selectAll().where("distribution_id", "=", id).execute();
    expect(lines).toHaveLength(holders.length);
    for (const line of lines) {
      expect(line.status).toBe("paid");
      const receipt = await chain.clients.publicClient.getTransactionReceipt({ hash: line.tx_hash as Hex });
      expect(receipt.status).toBe("success");
      expect(intents.map((t) => t.mined_hash)).toContain(line.tx_hash);
    }
    for (const h of holders) {
      const paid = await chain.clients.publicClient.readContract({
        address: chain.deployment.stablecoin,
        abi: erc20Abi,
        functionName: "balanceOf",
        args: [h.wallet as Address],
      });
      expect(paid).toBe((h.balance * amountPerToken) / E18);
    }
  }, 150_000);

  it("a payout batch that reverts on chain (a holder frozen between signing and the block) leaves its lines unpaid; an operator's retry pays them once under a new intent", async () => {
    await chain.rpc("evm_setAutomine", [true]);
    const admin = chain.clients;
    // A restricted payout token (a SecurityToken: frozen addresses can neither send nor receive).
    const payoutToken = await deploySecurityToken(admin, admin.account.address, "Frozen Payout", "FPY");
    const token = await deploySecurityToken(admin, admin.account.address, "Retry Dividend", "RTD");
    const write = async (
      address: Address,
      functionName: "mint" | "setAddressFrozen",
      args: readonly [Address, bigint] | readonly [Address, boolean],
      tip?: bigint,
    ) =>
      admin.walletClient.writeContract({
        address,
        abi: securityTokenAbi,
        functionName,
        args: args as never,
        ...(tip ? { maxPriorityFeePerGas: tip, maxFeePerGas: tip * 10n } : {}),
      });
    const receipt = async (hash: Hex) => admin.publicClient.waitForTransactionReceipt({ hash });
    await receipt(await write(payoutToken, "mint", [chain.signer, 100n * E18]));
    const holders = Array.from({ length: 3 }, (_, i) => ({ wallet: randomWallet() as Address, balance: BigInt(i + 1) * E18 }));
    for (const h of holders) await receipt(await write(token, "mint", [h.wallet, h.balance]));
    const recordBlock = await admin.publicClient.getBlockNumber({ cacheTime: 0 });
    await chain.rpc("evm_setAutomine", [false]);
    const amountPerToken = 5n * 10n ** 17n;
    const id = await declare(token, recordBlock, amountPerToken, payoutToken);
    await enqueuePayouts(stack.c.queues, [id]);
    const db = stack.c.dbh.db;
    const intentsOf = async (part: string) =>
      (await db.selectFrom("chain_transactions").selectAll().where("intent_key", "like", `dividend-%`).execute()).filter((t) => t.intent_key.includes(part));
    // The approval of the batch contract for this payout token first, then the two batches (2 + 1 lines).
    await waitFor(async () => (await intentsOf(`-approve-${payoutToken.toLowerCase()}`)).some((t) => t.status === "broadcast"), 30_000, "approval broadcast");
    await mineOne();
    await waitFor(async () => (await intentsOf(`-approve-${payoutToken.toLowerCase()}`)).some((t) => t.status === "mined"), 10_000, "approval mined");
    await mineOne();
    const batchKey = `dividend-${id}-batch-`;
    const signed = await waitFor(
      async () => {
        const rows = await intentsOf(batchKey);
        return rows.length === 2 && rows.every((t) => t.status === "broadcast") ? rows : undefined;
      },
      30_000,
      "payout batches broadcast",
    );
    // Anvil orders a block by tip: a tip above every signed bid's fee cap puts the freeze first.
    const tip = signed.reduce((m, t) => (BigInt(t.max_fee_per_gas!) > m ? BigInt(t.max_fee_per_gas!) : m), 0n) * 2n;
    const lines = () => db.selectFrom("distribution_lines").selectAll().where("distribution_id", "=", id).orderBy("holder").execute();
    const frozen = (await lines()).find((l) => l.batch_no === 0)!.holder as Address;
    // The token's admin freezes a holder of batch 0 with a higher tip: the freeze mines first, in the same block.
    const freezeHash = await write(payoutToken, "setAddressFrozen", [frozen, true], tip);
    startMining();
    const ended = await waitFor(
      async () => {
        const rows = await intentsOf(batchKey);
        return rows.every((t) => t.status === "confirmed" || t.status === "reverted") ? rows : undefined;
      },
      60_000,
      "payout batches final",
    );
    expect((await receipt(freezeHash)).status).toBe("success");
    const dead = ended.find((t) => t.status === "reverted")!;
    expect(dead.intent_key).toBe(`${batchKey}0`);
    const job = () => stack.c.queues.queue("dividend-payouts").getJobState(`dividend-${id}`);
    await waitFor(async () => (await job()) === "failed", 30_000, "payout job failed");
    const balance = (wallet: Address) => admin.publicClient.readContract({ address: payoutToken, abi: erc20Abi, functionName: "balanceOf", args: [wallet] });
    expect(await balance(frozen)).toBe(0n);
    expect((await db.selectFrom("distributions").select("status").where("id", "=", id).executeTakeFirstOrThrow()).status).toBe("paying");
    expect((await lines()).filter((l) => l.batch_no === 0).every((l) => l.status === "pending")).toBe(true);

    const retry = (body: unknown, target = id) =>
      fetch(`${stack.base}/api/distributions/${target}/retry-payouts`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify(body),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));
    expect((await retry({})).status).toBe(400);
    expect((await retry({ reason: "x" }, "no-such-distribution")).status).toBe(404);
    const unauthorized = await fetch(`${stack.base}/api/distributions/${id}/retry-payouts`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ reason: "x" }),
    });
    expect(unauthorized.status).toBe(401);
    expect((await lines()).filter((l) => l.batch_no === 0).map((l) => l.intent_key)).toEqual([`${batchKey}0`, `${batchKey}0`]);

    await receipt(await write(payoutToken, "setAddressFrozen", [frozen, false]));
    // Two operators at once: one re-keys the batch; the other repeats that same retry or, once
    // the new intent is on its way, is refused. Either way one new payout.
    const both = await Promise.all([retry({ reason: "holder unfrozen" }), retry({ reason: "holder unfrozen" })]);
    expect(both.some((a) => a.status === 200)).toBe(true);
    for (const a of both) {
      if (a.status === 200) expect(a.body).toEqual({ distributionId: id, status: "paying", intents: [`${batchKey}0-retry-1`] });
      else expect([a.status, a.body.error]).toEqual([409, expect.stringMatching(/not reverted or failed; nothing changed$/)]);
    }
    await waitFor(
      async () => (await db.selectFrom("distributions").select("status").where("id", "=", id).executeTakeFirstOrThrow()).status === "completed",
      60_000,
      "distribution completed after the retry",
    );
    await stopMining();
    for (const h of holders) expect(await balance(h.wallet)).toBe((h.balance * amountPerToken) / E18);
    const after = await intentsOf(batchKey);
    expect(after.map((t) => [t.intent_key, t.status]).sort()).toEqual([
      [`${batchKey}0`, "reverted"],
      [`${batchKey}0-retry-1`, "confirmed"],
      [`${batchKey}1`, "confirmed"],
    ]);
    const paid = await lines();
    expect(paid.every((l) => l.status === "paid")).toBe(true);
    expect(paid.filter((l) => l.batch_no === 0).every((l) => l.tx_hash === after.find((t) => t.intent_key === `${batchKey}0-retry-1`)!.mined_hash)).toBe(true);
    const total = await db.selectFrom("distributions").select("total_paid").where("id", "=", id).executeTakeFirstOrThrow();
    expect(BigInt(total.total_paid)).toBe(holders.reduce((s, h) => s + (h.balance * amountPerToken) / E18, 0n));
    // A completed distribution is not retried.
    const again = await retry({ reason: "again" });
    expect([again.status, again.body.error]).toEqual([409, `distribution ${id} is completed, not paying; nothing changed`]);
    const audited = await db.selectFrom("audit_events").selectAll().where("target", "=", `distributions/${id}`).execute();
    expect(audited.filter((r) => r.action === "api.distributions.retry-payouts" && r.result === "ok").length).toBeGreaterThanOrEqual(1);
  }, 150_000);
});
