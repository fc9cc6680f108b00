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
    const res = await fetch(`${stack.base}/api/distributions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({
        tokenAddress: token,
        recordBlock: Number(recordBlock),
        paymentDate: new Date(Date.now() - 1_000).toISOString(),
        amountPerToken: amountPerToken.toString(),
        payoutTokenAddress: chain.deployment.stablecoin,
      }),
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
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
});
