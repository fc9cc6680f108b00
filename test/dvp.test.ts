import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { erc20Abi, getAddress, keccak256, toBytes, type Address, type Hex } from "viem";
import { generatePrivateKey } from "viem/accounts";
import { securityTokenAbi } from "../src/chain/artifacts/SecurityToken.js";
import { stablecoinAbi, stablecoinBytecode } from "../src/chain/artifacts/Stablecoin.js";
import { createChainClients, type ChainClients } from "../src/chain/clients.js";
import { dvpAbi, settlementIdOf } from "../src/chain/dvp.js";
import { deployDvP, grantMinter } from "../src/chain/deploy.js";
import { enqueueSettlement } from "../src/processors/dvp/index.js";
import { APPROVAL_CURSOR } from "../src/processors/dvp/allowance-watcher.js";
import { adminApiClient } from "./helpers/admin-api.js";
import { startTestChain, type TestChain } from "./helpers/chain.js";
import { cleanup, completedJob, testEnv, uniqueName, waitFor } from "./helpers/env.js";
import { ROOT, spawnNode, type Spawned } from "./helpers/process.js";
import type { DbHandle } from "../src/db/client.js";
import { openTestDatabase, openTestQueues, startStack, type TestStack } from "./helpers/stack.js";

// The stablecoin rail end to end on a chain that behaves like one: automine is off and the
// test produces every block, with CHAIN_CONFIRMATIONS=3. Buyers are investors with their own
// keys who approve the DvP contract; the web side takes orders, the worker side runs the
// allowance watcher, the settlement jobs and the chain monitor.
describe("stablecoin delivery versus payment", () => {
  const TOKEN = "dvp-admin-token-for-tests";
  let chain: TestChain;
  let stack: TestStack;
  let usdc: Address;
  let dvp: Address;
  let call: ReturnType<typeof adminApiClient>;
  const CONFIRMATIONS = 3n;
  const USDC = 1_000_000n;

  const rpc = (method: string, params: unknown[] = []) => chain.rpc(method, params);
  const head = () => chain.clients.publicClient.getBlockNumber({ cacheTime: 0 });
  const mine = async (n = 1) => {
    for (let i = 0; i < n; i += 1) await rpc("evm_mine");
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  /** A block every 150 ms until `fn` holds. */
  const mineUntil = <T>(fn: () => Promise<T | undefined | null | false>, what: string) =>
    waitFor(
      async () => {
        const v = await fn();
        if (v) return v;
        await mine();
        await sleep(150);
        return undefined;
      },
      60_000,
      what,
    );
  /** Mine `tx` now (automine is off) and check it succeeded. */
  const mined = async (hash: Hex) => {
    await mine();
    expect((await chain.clients.publicClient.getTransactionReceipt({ hash })).status).toBe("success");
  };
  const cursor = async () =>
    BigInt(
      (await stack.c.dbh.db.selectFrom("chain_cursors").select("block_number").where("name", "=", APPROVAL_CURSOR).executeTakeFirst())?.block_number ?? -1,
    );
  /** Wait until the watcher has read everything that is confirmed at the current head. */
  const watcherCaughtUp = async () => {
    const h = await head();
    await waitFor(async () => (await cursor()) >= h - CONFIRMATIONS + 1n, 10_000, "watcher at the confirmed head");
    // One more full pass after that: whatever it decided at this head is written.
    const seen = await cursor();
    await sleep(250);
    expect(await cursor()).toBe(seen);
  };
  const order = (ref: string) => stack.c.dbh.db.selectFrom("orders").selectAll().where("reference_id", "=", ref).executeTakeFirstOrThrow();
  const intents = (ref: string) => stack.c.dbh.db.selectFrom("chain_transactions").selectAll().where("intent_key", "like", `dvp:${ref}%`).execute();
  const balance = (token: Address, holder: Address) => chain.balanceOf(token, holder);

  interface Buyer {
    id: string;
    wallet: Address;
    clients: ChainClients;
  }
  const newBuyer = async (fundUsdc: bigint): Promise<Buyer> => {
    const clients = createChainClients({ rpcUrl: chain.anvil.url, chainId: 31337, privateKey: generatePrivateKey(), pollingIntervalMs: 50 });
    const wallet = clients.account.address;
    await rpc("anvil_setBalance", [wallet, "0x56BC75E2D63100000"]);
    if (fundUsdc > 0n) await fund(wallet, fundUsdc);
    const id = `inv-${randomUUID()}`;
    await stack.c.dbh.db
      .insertInto("investors")
      .values({ id, wallet, first_name: "A", last_name: "B", date_of_birth: "1980-01-01", nationality: "DE", kyc_status: "approved" })
      .execute();
    return { id, wallet, clients };
  };
  const fund = async (wallet: Address, amount: bigint) =>
    mined(await chain.clients.walletClient.writeContract({ address: usdc, abi: stablecoinAbi, functionName: "mint", args: [wallet, amount] }));
  const approve = (buyer: Buyer, amount: bigint, fees: { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint; gas: bigint } | object = {}) =>
    buyer.clients.walletClient.writeContract({ address: usdc, abi: erc20Abi, functionName: "approve", args: [dvp, amount], ...fees });
  const placeOrder = async (buyer: Buyer, body: Record<string, unknown>) => {
    const ref = `DVP-${randomUUID()}`;
    const res = await call("POST", "/orders", {
      rail: "stablecoin",
      referenceId: ref,
      investorId: buyer.id,
      tokenAddress: chain.deployment.securityToken,
      cashToken: usdc,
      ...body,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return { ref, view: res.body };
  };

  beforeAll(async () => {
    chain = await startTestChain();
    const deployer = chain.clients.account.address;
    // A 6-decimal test USDC the deployer administers (the signer's nonces belong to hookrail).
    const deployed = await chain.clients.walletClient.deployContract({
      abi: stablecoinAbi,
      bytecode: stablecoinBytecode,
      args: ["Test USD Coin", "USDC", deployer],
    });
    usdc = getAddress((await chain.clients.publicClient.waitForTransactionReceipt({ hash: deployed })).contractAddress!);
    dvp = await deployDvP(chain.clients, deployer, [chain.signer]);
    await grantMinter(chain.clients, chain.deployment.securityToken, dvp);
    // The deployer may settle too, to ask the contract directly about a settlement id.
    const operator = await chain.clients.publicClient.readContract({ address: dvp, abi: dvpAbi, functionName: "OPERATOR_ROLE" });
    await chain.clients.publicClient.waitForTransactionReceipt({
      hash: await chain.clients.walletClient.writeContract({ address: dvp, abi: dvpAbi, functionName: "grantRole", args: [operator, deployer] }),
    });
    await rpc("evm_setAutomine", [false]);
    stack = await startStack("dvp", {
      env: {
        ...chain.env,
        ADMIN_API_TOKEN: TOKEN,
        CHAIN_CONFIRMATIONS: CONFIRMATIONS.toString(),
        STABLECOIN_TOKENS: usdc,
        DVP_CONTRACT: dvp,
        DVP_WATCH_INTERVAL_MS: "50",
      },
      web: true,
      worker: true,
    });
    call = adminApiClient(() => stack.base, TOKEN);
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
    await chain?.stop();
  });

  it("refuses bad stablecoin orders with 400 naming the field, and stores nothing", async () => {
    const buyer = await newBuyer(0n);
    const base = { rail: "stablecoin", investorId: buyer.id, tokenAddress: chain.deployment.securityToken, tokenAmount: "1", cashToken: usdc };
    const cases: [Record<string, unknown>, string][] = [
      [{ ...base, referenceId: "bad-1", cashAmount: "1.0000001" }, "cashAmount: more than the token's 6 decimals"],
      [{ ...base, referenceId: "bad-2", cashAmount: 1.5 }, "cashAmount:"],
      [{ ...base, referenceId: "bad-3", cashAmount: "0" }, "cashAmount: expected more than 0"],
      [{ ...base, referenceId: "bad-4" }, "cashAmount: give exactly one of"],
      [{ ...base, referenceId: "bad-5", cashAmount: "1", cashBaseUnits: "1000000" }, "cashAmount: give exactly one of"],
      [{ ...base, referenceId: "bad-6", cashBaseUnits: "1.5" }, "cashBaseUnits:"],
      [{ ...base, referenceId: "bad-7", cashAmount: "1", cashToken: chain.deployment.stablecoin }, "cashToken: "],
      [{ ...base, referenceId: "bad-8", cashAmount: "1", seller: "0x1234" }, "seller:"],
      [{ ...base, referenceId: "bad-9", cashAmount: "1", expiresAt: "tomorrow" }, "expiresAt:"],
      [{ ...base, referenceId: "bad-10", cashAmount: "1", investorId: "nobody" }, "investorId: no investor nobody"],
    ];
    for (const [body, problem] of cases) {
      const res = await call("POST", "/orders", body);
      expect(res.status, problem).toBe(400);
      expect(res.body.issues.join("\n")).toContain(problem);
    }
    const stored = await stack.c.dbh.db.selectFrom("orders").select("reference_id").where("reference_id", "like", "bad-%").execute();
    expect(stored).toEqual([]);
  });

  it("a primary order paid by approve is settled once: exact balances on chain, both legs recorded, not before 3 confirmations; the contract refuses its settlement id again", async () => {
    const buyer = await newBuyer(5_000n * USDC);
    const tokens = 25n * 10n ** 18n;
    const { ref, view } = await placeOrder(buyer, { tokenAmount: tokens.toString(), cashAmount: "1250.50" });
    expect(view.status).toBe("awaiting_allowance");
    expect(view.rail).toBe("stablecoin");
    expect(view.stablecoin).toEqual(expect.objectContaining({ cashToken: usdc, cashBaseUnits: "1250500000", seller: null, settlementTxHash: null }));
    // An identical repeat is the same order; the same amount given in base units is identical too.
    const again = await call("POST", "/orders", {
      rail: "stablecoin",
      referenceId: ref,
      investorId: buyer.id,
      tokenAddress: chain.deployment.securityToken,
      tokenAmount: tokens.toString(),
      cashToken: usdc,
      cashBaseUnits: "1250500000",
    });
    expect(again.status).toBe(200);
    await waitFor(async () => (await order(ref)).waiting_reason?.includes("allowance to the DvP contract is 0"), 10_000, "waiting for the allowance");

    const treasuryBefore = await balance(usdc, chain.signer);
    // Twice the amount: what stops a second settlement below is the settlement id, not the allowance.
    await mined(await approve(buyer, 2n * 1_250_500_000n));
    const approvalBlock = await head();
    await mine(Number(CONFIRMATIONS) - 2);
    await watcherCaughtUp();
    // The Approval has 2 of 3 confirmations: nothing moves yet.
    expect((await order(ref)).status).toBe("awaiting_allowance");
    expect(await intents(ref)).toEqual([]);

    await mine();
    const done = await mineUntil(async () => {
      const o = await order(ref);
      return o.status === "completed" ? o : undefined;
    }, "order settled");
    const receipt = await chain.clients.publicClient.getTransactionReceipt({ hash: done.settlement_tx_hash as Hex });
    expect(receipt.status).toBe("success");
    expect(receipt.blockNumber).toBeGreaterThan(approvalBlock + CONFIRMATIONS - 2n);
    expect((await head()) - receipt.blockNumber + 1n).toBeGreaterThanOrEqual(CONFIRMATIONS);
    expect(await balance(chain.deployment.securityToken, buyer.wallet)).toBe(tokens);
    expect(await balance(usdc, buyer.wallet)).toBe(5_000n * USDC - 1_250_500_000n);
    expect((await balance(usdc, chain.signer)) - treasuryBefore).toBe(1_250_500_000n);
    const legs = await stack.c.dbh.db.selectFrom("dvp_legs").selectAll().where("reference_id", "=", ref).orderBy("leg").execute();
    expect(legs.map((l) => [l.leg, l.token, l.from_address, l.to_address, l.amount, l.tx_hash])).toEqual([
      ["cash", usdc, buyer.wallet, chain.signer, "1250500000", done.settlement_tx_hash],
      ["delivery", chain.deployment.securityToken, "0x0000000000000000000000000000000000000000", buyer.wallet, tokens.toString(), done.settlement_tx_hash],
    ]);
    const sent = await intents(ref);
    expect(sent.map((t) => [t.intent_key, t.status])).toEqual([[`dvp:${ref}`, "confirmed"]]);
    const api = await call("GET", `/orders/${ref}`);
    expect(api.body.status).toBe("completed");
    expect(api.body.stablecoin.settlementTxHash).toBe(done.settlement_tx_hash);

    // A redelivered settlement job (another run id) changes nothing.
    await enqueueSettlement(stack.c.queues, ref, 99);
    const job = await completedJob(stack.c.queues.queue("dvp-settlements"), `dvp-${ref}-99`, 10_000);
    expect(job.returnvalue).toEqual({ outcome: "not_settling", status: "completed" });
    await mine(2);
    expect(await balance(chain.deployment.securityToken, buyer.wallet)).toBe(tokens);
    expect(await intents(ref)).toHaveLength(1);

    // On chain: the same settlement id is refused, though the buyer's allowance would cover it.
    expect(await chain.clients.publicClient.readContract({ address: usdc, abi: erc20Abi, functionName: "allowance", args: [buyer.wallet, dvp] })).toBe(
      1_250_500_000n,
    );
    const replay = await chain.clients.publicClient
      .simulateContract({
        account: chain.clients.account,
        address: dvp,
        abi: dvpAbi,
        functionName: "settle",
        args: [
          settlementIdOf(ref),
          buyer.wallet,
          usdc,
          1_250_500_000n,
          chain.signer,
          chain.deployment.securityToken,
          tokens,
          "0x0000000000000000000000000000000000000000",
        ],
      })
      .then(
        () => "settled",
        (e: Error) => e.message,
      );
    expect(replay).toMatch(/AlreadySettled/);
    expect(settlementIdOf(ref)).toBe(keccak256(toBytes(`hookrail:dvp:${ref}`)));
  }, 120_000);

  it("a secondary trade between two investors moves both legs atomically: the seller's tokens to the buyer, the buyer's cash to the seller", async () => {
    const token = chain.deployment.securityToken;
    const seller = await newBuyer(0n);
    const buyer = await newBuyer(600n * USDC);
    // The deployer (the token's admin in tests) mints the seller's holding.
    const minter = await chain.clients.publicClient.readContract({ address: token, abi: securityTokenAbi, functionName: "MINTER_ROLE" });
    await mined(
      await chain.clients.walletClient.writeContract({
        address: token,
        abi: securityTokenAbi,
        functionName: "grantRole",
        args: [minter, chain.clients.account.address],
      }),
    );
    await mined(await chain.clients.walletClient.writeContract({ address: token, abi: securityTokenAbi, functionName: "mint", args: [seller.wallet, 100n] }));
    const { ref } = await placeOrder(buyer, { tokenAmount: "40", cashAmount: "600", seller: seller.wallet });
    await mined(await approve(buyer, 600n * USDC));
    await mine(Number(CONFIRMATIONS));
    await watcherCaughtUp();
    // The buyer is ready; the seller has not approved the contract yet.
    const waiting = await order(ref);
    expect(waiting.status).toBe("awaiting_allowance");
    expect(waiting.waiting_reason).toMatch(/^seller's token allowance 0/);

    const treasuryBefore = await balance(usdc, chain.signer);
    await mined(await seller.clients.walletClient.writeContract({ address: token, abi: erc20Abi, functionName: "approve", args: [dvp, 40n] }));
    const done = await mineUntil(async () => {
      const o = await order(ref);
      return o.status === "completed" ? o : undefined;
    }, "secondary trade settled");
    expect(await balance(token, seller.wallet)).toBe(60n);
    expect(await balance(token, buyer.wallet)).toBe(40n);
    expect(await balance(usdc, seller.wallet)).toBe(600n * USDC);
    expect(await balance(usdc, buyer.wallet)).toBe(0n);
    expect(await balance(usdc, chain.signer)).toBe(treasuryBefore);
    const legs = await stack.c.dbh.db.selectFrom("dvp_legs").selectAll().where("reference_id", "=", ref).orderBy("leg").execute();
    expect(legs.map((l) => [l.leg, l.from_address, l.to_address, l.amount])).toEqual([
      ["cash", buyer.wallet, seller.wallet, (600n * USDC).toString()],
      ["delivery", seller.wallet, buyer.wallet, "40"],
    ]);
    // Both legs are in the one transaction that mined.
    expect(new Set(legs.map((l) => l.tx_hash))).toEqual(new Set([done.settlement_tx_hash]));
  }, 90_000);

  it("a buyer whose balance is short waits with the reason, and settles once funded", async () => {
    const buyer = await newBuyer(100n * USDC);
    const { ref } = await placeOrder(buyer, { tokenAmount: "7", cashBaseUnits: (300n * USDC).toString() });
    await mined(await approve(buyer, 300n * USDC));
    await mine(Number(CONFIRMATIONS));
    await watcherCaughtUp();
    const waiting = await order(ref);
    expect(waiting.status).toBe("awaiting_allowance");
    expect(waiting.waiting_reason).toBe(`buyer's balance is ${100n * USDC}, below the cash amount ${300n * USDC}`);
    expect(await intents(ref)).toEqual([]);

    await fund(buyer.wallet, 200n * USDC);
    await mineUntil(async () => (await order(ref)).status === "completed", "order settled after funding");
    expect(await balance(chain.deployment.securityToken, buyer.wallet)).toBe(7n);
    expect(await balance(usdc, buyer.wallet)).toBe(0n);
    expect((await order(ref)).waiting_reason).toBeNull();
  }, 90_000);

  it("an allowance below the cash amount waits with the reason; raised later, the order settles", async () => {
    const buyer = await newBuyer(300n * USDC);
    const { ref } = await placeOrder(buyer, { tokenAmount: "9", cashAmount: "300" });
    await mined(await approve(buyer, 100n * USDC));
    await mine(Number(CONFIRMATIONS));
    await watcherCaughtUp();
    const waiting = await order(ref);
    expect(waiting.status).toBe("awaiting_allowance");
    expect(waiting.waiting_reason).toBe(`buyer's allowance to the DvP contract is ${100n * USDC}, below the cash amount ${300n * USDC}`);
    await mined(await approve(buyer, 300n * USDC));
    await mineUntil(async () => (await order(ref)).status === "completed", "order settled after the allowance was raised");
    expect(await balance(chain.deployment.securityToken, buyer.wallet)).toBe(9n);
    expect(await balance(usdc, buyer.wallet)).toBe(0n);
  }, 90_000);

  it("an allowance withdrawn after the watcher saw it: the order goes back to awaiting_allowance with the reason, nothing moves", async () => {
    const buyer = await newBuyer(50n * USDC);
    const { ref } = await placeOrder(buyer, { tokenAmount: "3", cashAmount: "50" });
    await mined(await approve(buyer, 50n * USDC));
    // Withdrawn in the next block: when the Approval is confirmed, the head already has none.
    await mined(await approve(buyer, 0n));
    // The Approval confirmed, as of its confirmed block the allowance is there: the watcher queues the settlement.
    await mine(Number(CONFIRMATIONS) - 2);
    await waitFor(async () => (await order(ref)).dvp_runs > 0, 10_000, "settlement attempted");
    const back = await waitFor(
      async () => {
        const o = await order(ref);
        return o.status === "awaiting_allowance" ? o : undefined;
      },
      10_000,
      "back to waiting",
    );
    expect(back.waiting_reason).toMatch(/allowance to the DvP contract is 0, below the cash amount 50000000/);
    await mine(Number(CONFIRMATIONS));
    await watcherCaughtUp();
    expect((await order(ref)).status).toBe("awaiting_allowance");
    expect((await intents(ref)).filter((t) => t.raw_tx !== null)).toEqual([]);
    expect(await balance(usdc, buyer.wallet)).toBe(50n * USDC);
    expect(await balance(chain.deployment.securityToken, buyer.wallet)).toBe(0n);
  }, 90_000);

  it("an allowance withdrawn between signing and mining: the settlement reverts on chain, no leg moves, the order waits again and settles on a new approval", async () => {
    const buyer = await newBuyer(80n * USDC);
    const { ref } = await placeOrder(buyer, { tokenAmount: "4", cashAmount: "80" });
    await mined(await approve(buyer, 80n * USDC));
    // Produce the confirmations, then wait (no more blocks) until the settlement sits in the pool.
    await mine(Number(CONFIRMATIONS) - 1);
    const pending = await waitFor(async () => (await intents(ref)).find((t) => t.status === "broadcast"), 20_000, "settlement broadcast");
    // The buyer withdraws with a far higher tip: ordered first in the next block.
    // (An explicit gas limit: the node's estimate for clearing an allowance leaves no room for the pending settlement's state.)
    const withdraw = await approve(buyer, 0n, { maxFeePerGas: 10n ** 12n, maxPriorityFeePerGas: 5n * 10n ** 11n, gas: 100_000n });
    await mine();
    expect((await chain.clients.publicClient.getTransactionReceipt({ hash: withdraw })).status).toBe("success");
    expect((await chain.clients.publicClient.getTransactionReceipt({ hash: pending.tx_hash as Hex })).status).toBe("reverted");
    const back = await mineUntil(async () => {
      const o = await order(ref);
      return o.status === "awaiting_allowance" ? o : undefined;
    }, "reverted settlement seen final");
    expect(back.failure_reason).toMatch(/settlement transaction 0x[0-9a-f]{64} reverted on chain/);
    expect(back.dvp_attempt).toBe(1);
    expect(await balance(usdc, buyer.wallet)).toBe(80n * USDC);
    expect(await balance(chain.deployment.securityToken, buyer.wallet)).toBe(0n);

    await mined(await approve(buyer, 80n * USDC));
    const done = await mineUntil(async () => {
      const o = await order(ref);
      return o.status === "completed" ? o : undefined;
    }, "settled on the new approval");
    expect(await balance(chain.deployment.securityToken, buyer.wallet)).toBe(4n);
    expect(await balance(usdc, buyer.wallet)).toBe(0n);
    const sent = await intents(ref);
    expect(sent.map((t) => [t.intent_key, t.status]).sort()).toEqual([
      [`dvp:${ref}`, "reverted"],
      [`dvp:${ref}:1`, "confirmed"],
    ]);
    expect(done.settlement_tx_hash).toBe(sent.find((t) => t.status === "confirmed")!.mined_hash);
  }, 90_000);

  it("an order nobody pays before expiresAt becomes expired", async () => {
    const buyer = await newBuyer(10n * USDC);
    const { ref } = await placeOrder(buyer, { tokenAmount: "1", cashAmount: "10", expiresAt: new Date(Date.now() + 1_500).toISOString() });
    expect((await order(ref)).status).toBe("awaiting_allowance");
    const gone = await waitFor(
      async () => {
        const o = await order(ref);
        return o.status === "expired" ? o : undefined;
      },
      15_000,
      "order expired",
    );
    expect(gone.expires_at!.getTime()).toBeLessThanOrEqual(Date.now());
    // Approving afterwards settles nothing.
    await mined(await approve(buyer, 10n * USDC));
    await mine(Number(CONFIRMATIONS));
    await watcherCaughtUp();
    expect((await order(ref)).status).toBe("expired");
    expect(await intents(ref)).toEqual([]);
    expect(await balance(usdc, buyer.wallet)).toBe(10n * USDC);
  }, 60_000);

  it("a reorg that removes the Approval before its confirmations: nothing settles on it", async () => {
    const buyer = await newBuyer(20n * USDC);
    const { ref } = await placeOrder(buyer, { tokenAmount: "2", cashAmount: "20" });
    const approval = await approve(buyer, 20n * USDC);
    await mined(approval);
    await mine(Number(CONFIRMATIONS) - 2);
    await watcherCaughtUp();
    expect((await order(ref)).status).toBe("awaiting_allowance");

    // The Approval's block and the one on it are replaced by empty blocks.
    await rpc("anvil_reorg", [Number(CONFIRMATIONS) - 1, []]);
    // If the node put the approval back in its pool, it is gone from there too: it never happened.
    await rpc("anvil_dropTransaction", [approval]).catch(() => undefined);
    await mine(Number(CONFIRMATIONS) + 1);
    await watcherCaughtUp();
    expect(await chain.clients.publicClient.readContract({ address: usdc, abi: erc20Abi, functionName: "allowance", args: [buyer.wallet, dvp] })).toBe(0n);
    const o = await order(ref);
    expect(o.status).toBe("awaiting_allowance");
    expect(o.dvp_runs).toBe(0);
    expect(await intents(ref)).toEqual([]);
    expect(await balance(usdc, buyer.wallet)).toBe(20n * USDC);
  }, 60_000);
});

describe("stablecoin rail settings", () => {
  it("STABLECOIN_TOKENS needs DVP_CONTRACT and RPC_URL; addresses are checked and kept checksummed", async () => {
    const { loadConfig, ConfigError } = await import("../src/config/index.js");
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env);
        return [];
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as InstanceType<typeof ConfigError>).problems;
      }
    };
    const usdc = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48";
    expect(problems({ STABLECOIN_TOKENS: usdc, RPC_URL: "http://127.0.0.1:8545", SIGNER_PRIVATE_KEY: `0x${"1".repeat(64)}` })).toEqual([
      "DVP_CONTRACT: required when STABLECOIN_TOKENS is set",
    ]);
    expect(problems({ STABLECOIN_TOKENS: `${usdc},0x12` })[0]).toMatch(/^STABLECOIN_TOKENS\.1: expected a 0x-prefixed 20-byte hex address/);
    expect(problems({ STABLECOIN_TOKENS: `${usdc},${usdc.toUpperCase().replace("0X", "0x")}` })[0]).toMatch(
      /STABLECOIN_TOKENS: the same token is listed twice/,
    );
    const config = loadConfig({
      STABLECOIN_TOKENS: usdc,
      DVP_CONTRACT: usdc,
      RPC_URL: "http://127.0.0.1:8545",
      SIGNER_PRIVATE_KEY: `0x${"1".repeat(64)}`,
    });
    expect(config.STABLECOIN_TOKENS).toEqual([getAddress(usdc)]);
    expect(config.DVP_WATCH_INTERVAL_MS).toBe(2_000);
  });
});

// Real worker processes (dist/src/bin/worker.js, and a fixture that SIGKILLs itself after
// submitting a settlement, before its job is acknowledged) on a chain whose blocks the test makes.
describe("stablecoin settlement across a worker SIGKILL", () => {
  const name = uniqueName("dvp_kill");
  let chain: TestChain;
  let dbh: DbHandle;
  let queues: Awaited<ReturnType<typeof openTestQueues>>;
  const workers: Spawned[] = [];
  let usdc: Address;
  let dvp: Address;

  const startWorker = async (script: string) => {
    const w = spawnNode(
      script,
      [],
      testEnv(name, {
        ...chain.env,
        WORKER_QUEUES: "dvp-settlements",
        WORKER_LOCK_DURATION_MS: "5000",
        CHAIN_CONFIRMATIONS: "2",
        STABLECOIN_TOKENS: usdc,
        DVP_CONTRACT: dvp,
        DVP_WATCH_INTERVAL_MS: "100",
      }),
    );
    workers.push(w);
    await w.waitForOutput(/worker started/, 30_000);
    return w;
  };

  beforeAll(async () => {
    chain = await startTestChain();
    const deployer = chain.clients.account.address;
    const deployed = await chain.clients.walletClient.deployContract({
      abi: stablecoinAbi,
      bytecode: stablecoinBytecode,
      args: ["Test USD Coin", "USDC", deployer],
    });
    usdc = getAddress((await chain.clients.publicClient.waitForTransactionReceipt({ hash: deployed })).contractAddress!);
    dvp = await deployDvP(chain.clients, deployer, [chain.signer]);
    await grantMinter(chain.clients, chain.deployment.securityToken, dvp);
    dbh = await openTestDatabase(name);
    queues = await openTestQueues(name);
  }, 60_000);
  afterAll(async () => {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGKILL");
    await Promise.all(workers.map((w) => w.exited));
    await queues?.close();
    await dbh?.close();
    await chain?.stop();
    await cleanup(name);
  });

  it("a worker killed after submitting a settlement, before acknowledging its job: the redelivered job resumes the same transaction and the order settles once", async () => {
    const buyer = createChainClients({ rpcUrl: chain.anvil.url, chainId: 31337, privateKey: generatePrivateKey(), pollingIntervalMs: 50 });
    const wallet = buyer.account.address;
    const wait = (hash: Hex) => chain.clients.publicClient.waitForTransactionReceipt({ hash });
    await chain.rpc("anvil_setBalance", [wallet, "0x56BC75E2D63100000"]);
    await wait(await chain.clients.walletClient.writeContract({ address: usdc, abi: stablecoinAbi, functionName: "mint", args: [wallet, 900_000_000n] }));
    await wait(await buyer.walletClient.writeContract({ address: usdc, abi: erc20Abi, functionName: "approve", args: [dvp, 900_000_000n] }));
    const ref = `DVP-${randomUUID()}`;
    const investor = `inv-${randomUUID()}`;
    await dbh.db
      .insertInto("investors")
      .values({ id: investor, wallet, first_name: "A", last_name: "B", date_of_birth: "1980-01-01", nationality: "DE", kyc_status: "approved" })
      .execute();
    await dbh.db
      .insertInto("orders")
      .values({
        reference_id: ref,
        investor_id: investor,
        token_address: chain.deployment.securityToken,
        token_amount: "11",
        expected_amount: "900",
        currency: "USD",
        status: "awaiting_allowance",
        rail: "stablecoin",
        cash_token: usdc,
        cash_amount: "900000000",
      })
      .execute();
    const treasuryBefore = await chain.balanceOf(usdc, chain.signer);
    await chain.rpc("evm_setAutomine", [false]);
    const order = () => dbh.db.selectFrom("orders").selectAll().where("reference_id", "=", ref).executeTakeFirstOrThrow();
    const intents = () => dbh.db.selectFrom("chain_transactions").selectAll().where("intent_key", "like", `dvp:${ref}%`).execute();

    const a = await startWorker(`${ROOT}test/fixtures/worker-dvp-killed.mjs`);
    // The approval gets its second confirmation: the watcher queues the settlement, the job submits it and the process dies.
    await chain.rpc("evm_mine", []);
    await a.waitForOutput(/settlement submitted/, 30_000);
    expect((await a.exited).signal).toBe("SIGKILL");
    const [sent] = await intents();
    expect(sent!.status).toBe("broadcast");
    expect((await order()).status).toBe("settling");

    const b = await startWorker(`${ROOT}dist/src/bin/worker.js`);
    // The dead worker's job comes back to this one (its lock lapsed) and only resumes the stored transaction.
    const job = await completedJob(queues.queues.queue("dvp-settlements"), `dvp-${ref}-1`, 30_000);
    expect(job.returnvalue).toEqual({ outcome: "submitted", intentKey: `dvp:${ref}`, resumed: true });
    const done = await waitFor(
      async () => {
        await chain.rpc("evm_mine", []);
        await new Promise((r) => setTimeout(r, 150));
        const o = await order();
        return o.status === "completed" ? o : undefined;
      },
      60_000,
      "order settled after the kill",
    );
    expect(done.settlement_tx_hash).toBe(sent!.tx_hash);
    expect((await intents()).map((t) => t.status)).toEqual(["confirmed"]);
    expect(await chain.balanceOf(chain.deployment.securityToken, wallet)).toBe(11n);
    expect(await chain.balanceOf(usdc, wallet)).toBe(0n);
    expect((await chain.balanceOf(usdc, chain.signer)) - treasuryBefore).toBe(900_000_000n);
    expect(await chain.signerNonce()).toBe(1);
    b.child.kill("SIGTERM");
    await b.exited;
  }, 120_000);
});
