import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { erc20Abi, getAddress, parseGwei, type Address, type Hex } from "viem";
import { generatePrivateKey } from "viem/accounts";
import { ANVIL_KEYS } from "../src/chain/anvil.js";
import { securityTokenAbi } from "../src/chain/artifacts/SecurityToken.js";
import { stablecoinAbi, stablecoinBytecode } from "../src/chain/artifacts/Stablecoin.js";
import { createChainClients } from "../src/chain/clients.js";
import { deployDvP, deploySecurityToken, grantMinter } from "../src/chain/deploy.js";
import { type ConfigError, loadConfig } from "../src/config/index.js";
import { type FireblocksApiStub, startFireblocksApiStub } from "../src/dev/stubs/fireblocks-api.js";
import { enqueuePayouts } from "../src/processors/dividends/payouts.js";
import { enqueueSettlement } from "../src/processors/dvp/settlements-queue.js";
import { createFireblocksApi } from "../src/clients/fireblocks-api.js";
import { listDeadLetters } from "../src/queues/dead-letter.js";
import type { DbHandle } from "../src/db/client.js";
import type { QueueSet } from "../src/queues/queue-set.js";
import { cleanup, completedJob, testEnv, uniqueName, waitFor } from "./helpers/env.js";
import { ROOT, spawnNode, type Spawned } from "./helpers/process.js";
import { randomWallet, startTestChain, type TestChain } from "./helpers/chain.js";
import { seedOrders } from "./helpers/orders.js";
import { openTestDatabase, openTestQueues, startStack, type TestStack } from "./helpers/stack.js";
import { paymentBody, standardHeaders } from "./helpers/webhook-senders.js";

// SIGNER_BACKEND=fireblocks: hookrail holds no key. Each mint intent is a Fireblocks
// CONTRACT_CALL; the stub (authenticating every request as Fireblocks does) really executes it
// on anvil with the signer vault's key, so balances on chain are the proof. anvil makes a block
// every second (no automine) and finality needs 2 confirmations on our own node.
const ADMIN_TOKEN = "fireblocks-signer-admin-token-0123";
const PAY_SECRET = `whsec_${Buffer.from("fireblocks-signer-payments-secret").toString("base64")}`;
const E18 = 10n ** 18n;
const MAX_FEE = parseGwei("0.9");

describe("Fireblocks as the signer backend", () => {
  let chain: TestChain;
  let fb: FireblocksApiStub;
  let stack: TestStack;
  let token: Address;
  let usdc: Address;
  let dvp: Address;

  const seed = async (n: number, amount: (i: number) => bigint) => {
    const rows = await seedOrders(stack.c.dbh.db, n, token, amount, "minting");
    await stack.c.queues.queue("mints").addBulk(rows.map((r) => ({ name: "mint", data: { referenceId: r.ref }, opts: { jobId: `mint-${r.ref}` } })));
    return rows;
  };
  const orders = (refs: string[]) => stack.c.dbh.db.selectFrom("orders").selectAll().where("reference_id", "in", refs).execute();
  const allIn = async (refs: string[], status: string) => {
    const rows = await orders(refs);
    return rows.length === refs.length && rows.every((o) => o.status === status) ? rows : undefined;
  };
  const supply = () => chain.clients.publicClient.readContract({ address: token, abi: erc20Abi, functionName: "totalSupply" });
  const intentsOf = (refs: string[]) =>
    stack.c.dbh.db
      .selectFrom("mint_intent_orders as m")
      .innerJoin("chain_transactions as t", "t.intent_key", "m.intent_key")
      .selectAll("t")
      .where("m.reference_id", "in", refs)
      .execute();
  /** An intent's externalTxId: the deployment's QUEUE_PREFIX and chain id before its key. */
  const externalIdOf = (intentKey: string) => `${stack.name}:31337:${intentKey}`;
  /** The stub's contract calls carrying these intents. */
  const callsFor = (intentKeys: string[]) =>
    [...fb.transactions.values()].filter((t) => t.operation === "CONTRACT_CALL" && intentKeys.map(externalIdOf).includes(t.externalTxId ?? ""));
  const lookupsOf = (intentKey: string) =>
    fb.requests.filter((r) => r.path === `/v1/transactions/external_tx_id/${encodeURIComponent(externalIdOf(intentKey))}`);

  beforeAll(async () => {
    chain = await startTestChain({ blockTime: 1 });
    token = chain.deployment.securityToken;
    // The vault's wallet (the stablecoin's admin here) holds payout funds before Fireblocks takes its nonces.
    const vaultKey = createChainClients({ rpcUrl: chain.anvil.url, chainId: 31337, privateKey: ANVIL_KEYS.signer, pollingIntervalMs: 50 });
    await chain.clients.publicClient.waitForTransactionReceipt({
      hash: await vaultKey.walletClient.writeContract({
        address: chain.deployment.stablecoin,
        abi: stablecoinAbi,
        functionName: "mint",
        args: [chain.signer, 10n ** 12n],
      }),
    });
    // A 6-decimal USDC the deployer administers, and a DvP contract whose one operator is the
    // signer vault's address: only a call Fireblocks makes from that vault can settle.
    const deployedUsdc = await chain.clients.walletClient.deployContract({
      abi: stablecoinAbi,
      bytecode: stablecoinBytecode,
      args: ["Test USD Coin", "USDC", chain.clients.account.address],
    });
    usdc = getAddress((await chain.clients.publicClient.waitForTransactionReceipt({ hash: deployedUsdc })).contractAddress!);
    dvp = await deployDvP(chain.clients, chain.clients.account.address, [chain.signer]);
    await grantMinter(chain.clients, token, dvp);
    // The signer vault's key is the chain's minter (the test chain grants MINTER_ROLE to it).
    fb = await startFireblocksApiStub(undefined, { chain: { rpcUrl: chain.anvil.url, chainId: 31337, privateKey: ANVIL_KEYS.signer, confirmations: 1 } });
    expect(fb.signerAddress).toBe(chain.signer);
    stack = await startStack("fireblocks_signer", {
      env: {
        RPC_URL: chain.anvil.url,
        CHAIN_ID: "31337",
        CHAIN_POLL_INTERVAL_MS: "100",
        CHAIN_CONFIRMATIONS: "2",
        SIGNER_BACKEND: "fireblocks",
        FIREBLOCKS_API_URL: fb.url,
        FIREBLOCKS_API_KEY: fb.apiKey,
        FIREBLOCKS_API_SECRET_KEY: fb.secretKeyPem,
        FIREBLOCKS_JWKS_URL: fb.jwksUrl,
        FIREBLOCKS_SIGNER_VAULT_ID: fb.signerVaultId!,
        FIREBLOCKS_SIGNER_ADDRESS: fb.signerAddress!,
        FIREBLOCKS_STATUS_POLL_MS: "3000",
        // Below anvil's 1 gwei priority fee, so the stub's cap (Fireblocks' maxFee) always binds.
        CHAIN_MAX_FEE_PER_GAS: MAX_FEE.toString(),
        MINT_BATCH_WINDOW_MS: "300",
        ADMIN_API_TOKEN: ADMIN_TOKEN,
        PAYMENTS_WEBHOOK_SECRETS: PAY_SECRET,
        DIVIDEND_BATCH_CONTRACT: chain.deployment.batchTransfer,
        DIVIDEND_BATCH_SIZE: "2",
        STABLECOIN_TOKENS: usdc,
        DVP_CONTRACT: dvp,
        DVP_WATCH_INTERVAL_MS: "100",
      },
      web: true,
      worker: true,
    });
    fb.webhookUrl = `${stack.base}/webhooks/custody/fireblocks`;
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
    await fb?.close();
    await chain?.stop();
  });

  it("paid orders are minted by one Fireblocks CONTRACT_CALL (a batchMint), completed from the signed webhooks after 2 confirmations", async () => {
    const before = await supply();
    const rows = await seed(5, (i) => BigInt(i + 1) * 10n ** 18n);
    const done = await waitFor(
      () =>
        allIn(
          rows.map((r) => r.ref),
          "completed",
        ),
      60_000,
      "orders completed",
    );
    for (const r of rows) expect(await chain.balanceOf(token, r.wallet)).toBe(r.amount);
    expect((await supply()) - before).toBe(rows.reduce((a, r) => a + r.amount, 0n));

    const intents = await intentsOf(rows.map((r) => r.ref));
    const keys = [...new Set(intents.map((i) => i.intent_key))];
    const calls = callsFor(keys);
    // One intent, one Fireblocks transaction; the batch window gathered all five orders.
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(/^mint-batch:/);
    expect(calls).toHaveLength(1);
    const [call] = calls;
    expect(call).toMatchObject({ status: "COMPLETED", source: { type: "VAULT_ACCOUNT", id: fb.signerVaultId }, assetId: "ETH", amount: "0" });
    expect(call!.destination).toEqual({ type: "ONE_TIME_ADDRESS", oneTimeAddress: { address: token } });
    // Priced by Fireblocks at MEDIUM, never above CHAIN_MAX_FEE_PER_GAS: the call on chain bid exactly the cap.
    expect(call).toMatchObject({ feeLevel: "MEDIUM", maxFee: "0.9" });
    const onChain = await chain.clients.publicClient.getTransaction({ hash: call!.txHash as Hex });
    expect([onChain.maxFeePerGas, onChain.maxPriorityFeePerGas]).toEqual([MAX_FEE, MAX_FEE]);
    const intent = intents[0]!;
    expect(intent).toMatchObject({
      status: "confirmed",
      custody_external_id: externalIdOf(intent.intent_key),
      custody_tx_id: call!.id,
      custody_status: "COMPLETED",
      mined_hash: call!.txHash,
      raw_tx: null,
    });
    for (const o of done) expect(o.mint_tx_hash).toBe(call!.txHash);
    // The signed webhooks were delivered and accepted (202) for every status the call went through.
    const delivered = fb.webhooks.filter((w) => w.txId === call!.id);
    expect(delivered.map((w) => w.status)).toEqual(expect.arrayContaining(["SUBMITTED", "BROADCASTING", "CONFIRMING", "COMPLETED"]));
    expect(delivered.every((w) => w.delivered === 202 || w.delivered === 200)).toBe(true);
    // The webhooks drove it: no status was looked up.
    expect(lookupsOf(intent.intent_key)).toEqual([]);
    // Finality waited for our node's second confirmation: it was recorded after the next block was made.
    const receipt = await chain.clients.publicClient.getTransactionReceipt({ hash: call!.txHash as Hex });
    expect(BigInt(intent.block_number!)).toBe(receipt.blockNumber);
    const next = await chain.clients.publicClient.getBlock({ blockNumber: receipt.blockNumber + 1n });
    expect(intent.confirmed_at!.getTime()).toBeGreaterThanOrEqual(Number(next.timestamp) * 1000);
    expect(intent.from_address).toBe(chain.signer);
  });

  it("an order paid by its payment webhook, with every Fireblocks webhook lost: the lookup by externalTxId finds the result, minted once", async () => {
    fb.webhookUrl = undefined;
    try {
      const lookupsBefore = fb.requests.filter((r) => r.path.startsWith("/v1/transactions/external_tx_id/")).length;
      const rows = await seedOrders(stack.c.dbh.db, 1, token, () => 7n * 10n ** 18n, "pending");
      const body = paymentBody({ referenceId: rows[0]!.ref, amount: 100, currency: "USD" });
      const paid = await fetch(`${stack.base}/webhooks/payments`, { method: "POST", headers: standardHeaders(PAY_SECRET, body), body });
      expect(paid.status).toBe(202);
      await waitFor(() => allIn([rows[0]!.ref], "completed"), 60_000, "order completed without webhooks");
      expect(await chain.balanceOf(token, rows[0]!.wallet)).toBe(7n * 10n ** 18n);
      const [intent] = await intentsOf([rows[0]!.ref]);
      expect(intent).toMatchObject({ intent_key: `mint:${rows[0]!.ref}`, status: "confirmed", custody_status: "COMPLETED" });
      expect(callsFor([intent!.intent_key])).toHaveLength(1);
      const lookups = lookupsOf(intent!.intent_key).filter((r) => r.status === 200);
      expect(lookups.length).toBeGreaterThanOrEqual(1);
      expect(fb.requests.filter((r) => r.path.startsWith("/v1/transactions/external_tx_id/")).length).toBeGreaterThan(lookupsBefore);
    } finally {
      fb.webhookUrl = `${stack.base}/webhooks/custody/fireblocks`;
    }
  });

  it("an answer lost after Fireblocks created the call: the retry asks Fireblocks by externalTxId first, finds it, creates nothing, mints once", async () => {
    // Without webhooks, so it is the job's retry (not transaction.created) that must find the call.
    fb.webhookUrl = undefined;
    fb.loseNextAnswer("/v1/transactions");
    const rows = await seed(1, () => 3n * 10n ** 18n);
    await waitFor(() => allIn([rows[0]!.ref], "completed"), 60_000, "order completed after the lost answer").finally(() => {
      fb.webhookUrl = `${stack.base}/webhooks/custody/fireblocks`;
    });
    expect(await chain.balanceOf(token, rows[0]!.wallet)).toBe(3n * 10n ** 18n);
    const [intent] = await intentsOf([rows[0]!.ref]);
    expect(callsFor([intent!.intent_key])).toHaveLength(1);
    const creates = fb.requests.filter((r) => r.method === "POST" && r.path === "/v1/transactions").slice(-2);
    // The first create happened but its answer never arrived (0); the retry did not create again
    // (nor simulate the call again) but found it under its externalTxId.
    expect(creates.at(-1)!.status).toBe(0);
    expect(lookupsOf(intent!.intent_key).filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(1);
    expect(intent!.custody_tx_id).toBe(callsFor([intent!.intent_key])[0]!.id);
  });

  it("when the answer is lost but transaction.created arrives first, the webhook links the call and the retry creates nothing", async () => {
    fb.loseNextAnswer("/v1/transactions");
    const rows = await seed(1, () => 4n * 10n ** 18n);
    await waitFor(() => allIn([rows[0]!.ref], "completed"), 60_000, "order completed");
    expect(await chain.balanceOf(token, rows[0]!.wallet)).toBe(4n * 10n ** 18n);
    const [intent] = await intentsOf([rows[0]!.ref]);
    expect(callsFor([intent!.intent_key])).toHaveLength(1);
    expect(fb.requests.filter((r) => r.method === "POST" && r.path === "/v1/transactions").at(-1)!.status).toBe(0);
  });

  it("rate-limited (429) hand-overs back off and retry (postponed while the breaker is open): one call, minted once", async () => {
    fb.rateLimitNext("/v1/transactions", 2);
    const rows = await seed(1, () => 2n * 10n ** 18n);
    // The 429s, with the lost answers just before, may open Fireblocks' breaker (30 s): the job then waits it out.
    await waitFor(() => allIn([rows[0]!.ref], "completed"), 90_000, "order completed after the rate limit");
    expect(await chain.balanceOf(token, rows[0]!.wallet)).toBe(2n * 10n ** 18n);
    expect(
      fb.requests
        .filter((r) => r.method === "POST" && r.path === "/v1/transactions")
        .slice(-3)
        .map((r) => r.status),
    ).toEqual([429, 429, 200]);
    const [intent] = await intentsOf([rows[0]!.ref]);
    expect(callsFor([intent!.intent_key])).toHaveLength(1);
  }, 120_000);

  it("a call Fireblocks' policy blocks ends the order mint_failed with the reason, nothing minted; an operator's retry then mints it once under a new intent", async () => {
    fb.blockNext = 1;
    const rows = await seed(1, () => 5n * 10n ** 18n);
    const ref = rows[0]!.ref;
    const [failed] = await waitFor(() => allIn([ref], "mint_failed"), 60_000, "order failed");
    expect(failed!.failure_reason).toMatch(/^Fireblocks transaction .+ ended BLOCKED \(BLOCKED_BY_POLICY\) before reaching the chain$/);
    expect(await chain.balanceOf(token, rows[0]!.wallet)).toBe(0n);
    const [intent] = await intentsOf([ref]);
    expect(intent).toMatchObject({ status: "failed", custody_status: "BLOCKED", tx_hash: null, block_number: null });
    expect(callsFor([intent!.intent_key])).toHaveLength(1);

    // The policy is fixed in Fireblocks (the stub blocks nothing more); an operator retries the mint.
    const retry = (body: unknown, path = ref) =>
      fetch(`${stack.base}/api/orders/${path}/retry-mint`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN_TOKEN}` },
        body: JSON.stringify(body),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));
    const noReason = await retry({});
    expect(noReason.status).toBe(400);
    expect((await orders([ref]))[0]!.status).toBe("mint_failed");
    expect((await retry({ reason: "x" }, "no-such-order")).status).toBe(404);
    // Two operators at once: one lets the failed intent go; the other repeats that same retry
    // (same retry job) or, once the new intent exists, is refused. Either way: one new mint.
    const both = await Promise.all([retry({ reason: "policy fixed in Fireblocks" }), retry({ reason: "policy fixed in Fireblocks" })]);
    expect(both.some((a) => a.status === 200)).toBe(true);
    for (const a of both) {
      if (a.status === 200) expect(a.body).toEqual({ referenceId: ref, status: "minting", retry: 1 });
      else expect([a.status, a.body.error]).toEqual([409, expect.stringMatching(/not mint_failed; nothing changed$/)]);
    }
    const [done] = await waitFor(() => allIn([ref], "completed"), 60_000, "order minted after the retry");
    expect(await chain.balanceOf(token, rows[0]!.wallet)).toBe(5n * 10n ** 18n);
    expect(done!.failure_reason).toBeNull();
    const after = await intentsOf([ref]);
    expect(after).toHaveLength(2);
    const fresh = after.find((t) => t.intent_key !== intent!.intent_key)!;
    expect(fresh).toMatchObject({ status: "confirmed", custody_status: "COMPLETED", mined_hash: done!.mint_tx_hash });
    expect(fresh.intent_key === `mint:${ref}:1` || fresh.intent_key.startsWith("mint-batch:")).toBe(true);
    // The blocked intent stays as it ended, let go; the new call is the only other one.
    expect(after.find((t) => t.intent_key === intent!.intent_key)).toMatchObject({ status: "failed", custody_status: "BLOCKED" });
    expect(callsFor([intent!.intent_key])).toHaveLength(1);
    expect(callsFor([fresh.intent_key])).toHaveLength(1);
    const links = await stack.c.dbh.db.selectFrom("mint_intent_orders").select(["intent_key", "live"]).where("reference_id", "=", ref).execute();
    expect(links.sort((a, b) => Number(a.live) - Number(b.live))).toEqual([
      { intent_key: intent!.intent_key, live: false },
      { intent_key: fresh.intent_key, live: true },
    ]);
    expect(await stack.c.queues.queue("mints").getJob(`mint-${ref}-retry-2`)).toBeUndefined();
    // A completed order is not retried.
    const again = await retry({ reason: "again" });
    expect([again.status, again.body.error]).toEqual([409, `order ${ref} is completed, not mint_failed; nothing changed`]);
    const audited = await stack.c.dbh.db.selectFrom("audit_events").selectAll().where("target", "=", `orders/${ref}`).execute();
    expect(audited.filter((r) => r.action === "api.orders.retry-mint" && r.result === "ok").length).toBeGreaterThanOrEqual(1);
  });

  it("a retry asked before the cause is fixed gives up (its mint job dead-letters); the same retry asked again after the fix runs that job again and mints once", async () => {
    fb.blockNext = 1;
    const rows = await seed(1, () => 4n * 10n ** 18n);
    const { ref, wallet } = rows[0]!;
    await waitFor(() => allIn([ref], "mint_failed"), 60_000, "order failed");
    const freeze = async (frozen: boolean) =>
      chain.clients.publicClient.waitForTransactionReceipt({
        hash: await chain.clients.walletClient.writeContract({
          address: token,
          abi: securityTokenAbi,
          functionName: "setAddressFrozen",
          args: [wallet, frozen],
        }),
      });
    const retry = () =>
      fetch(`${stack.base}/api/orders/${ref}/retry-mint`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN_TOKEN}` },
        body: JSON.stringify({ reason: "policy fixed" }),
      }).then(async (r) => ({ status: r.status, body: await r.json() }));
    // The recipient is frozen meanwhile: the retry's mint is refused at simulation, and its job gives up.
    await freeze(true);
    expect(await retry()).toEqual({ status: 200, body: { referenceId: ref, status: "minting", retry: 1 } });
    const jobId = `mint-${ref}-retry-1`;
    await waitFor(async () => (await stack.c.queues.queue("mints").getJobState(jobId)) === "failed", 30_000, "retry job failed");
    const [waiting] = await orders([ref]);
    expect(waiting).toMatchObject({ status: "minting" });
    expect(waiting!.failure_reason).toMatch(/AddressFrozen|revert/);
    expect(await chain.balanceOf(token, wallet)).toBe(0n);

    await freeze(false);
    // The order is minting with no live intent: the same call answers the same retry and reruns its job.
    expect(await retry()).toEqual({ status: 200, body: { referenceId: ref, status: "minting", retry: 1 } });
    const [done] = await waitFor(() => allIn([ref], "completed"), 60_000, "order minted after the second retry");
    expect(await chain.balanceOf(token, wallet)).toBe(4n * 10n ** 18n);
    const intents = await intentsOf([ref]);
    expect(intents.map((t) => t.status).sort()).toEqual(["confirmed", "failed"]);
    expect(intents.find((t) => t.status === "confirmed")).toMatchObject({ intent_key: `mint:${ref}:1`, mined_hash: done!.mint_tx_hash });
    expect(callsFor(intents.map((t) => t.intent_key))).toHaveLength(2);
  });

  it("another transaction already under the intent's externalTxId is refused, not adopted: the job dead-letters, nothing is minted", async () => {
    const [o] = await seedOrders(stack.c.dbh.db, 1, token, () => 6n * 10n ** 18n, "minting");
    // Somebody (another deployment on the workspace, a hand-made transfer) used the id first.
    const other = createFireblocksApi({ baseUrl: fb.url, apiKey: fb.apiKey, secretKey: fb.secretKeyPem, timeoutMs: 5_000 });
    await other.createTransaction({
      operation: "TRANSFER",
      externalTxId: externalIdOf(`mint:${o!.ref}`),
      assetId: "ETH",
      amount: "1",
      source: { type: "VAULT_ACCOUNT", id: fb.signerVaultId! },
      destination: { type: "ONE_TIME_ADDRESS", oneTimeAddress: { address: randomWallet() } },
    });
    await stack.c.queues.queue("mints").add("mint", { referenceId: o!.ref }, { jobId: `mint-${o!.ref}` });
    const letter = await waitFor(
      async () => (await listDeadLetters(stack.c.queues.deadLetters("mints"))).find((l) => l.jobId === `mint-${o!.ref}`),
      60_000,
      "mint dead-lettered",
    );
    expect(letter.failedReason).toMatch(/different transaction .+ under externalTxId/);
    expect(await chain.balanceOf(token, o!.wallet)).toBe(0n);
    expect(callsFor([`mint:${o!.ref}`])).toEqual([]);
    const [intent] = await intentsOf([o!.ref]);
    expect(intent).toMatchObject({ status: "intent", custody_tx_id: null });
  });

  it("a dividend is paid through Fireblocks too: the standing approval and each batch one CONTRACT_CALL, every holder paid once", async () => {
    const dividendToken = await deploySecurityToken(chain.clients, chain.clients.account.address, "Custody Dividend", "CUD");
    const holders = Array.from({ length: 3 }, (_, i) => ({ wallet: randomWallet(), balance: BigInt(i + 1) * E18 }));
    for (const h of holders) {
      await chain.clients.publicClient.waitForTransactionReceipt({
        hash: await chain.clients.walletClient.writeContract({
          address: dividendToken,
          abi: securityTokenAbi,
          functionName: "mint",
          args: [h.wallet, h.balance],
        }),
      });
    }
    const amountPerToken = 2_500_000n;
    const res = await fetch(`${stack.base}/api/distributions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({
        tokenAddress: dividendToken,
        recordBlock: Number(await chain.clients.publicClient.getBlockNumber({ cacheTime: 0 })),
        paymentDate: new Date(Date.now() - 1_000).toISOString(),
        amountPerToken: amountPerToken.toString(),
        payoutTokenAddress: chain.deployment.stablecoin,
      }),
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    await enqueuePayouts(stack.c.queues, [id]);
    const db = stack.c.dbh.db;
    await waitFor(
      async () => (await db.selectFrom("distributions").select("status").where("id", "=", id).executeTakeFirstOrThrow()).status === "completed",
      90_000,
      "distribution completed",
    );
    for (const h of holders) {
      const paid = await chain.clients.publicClient.readContract({
        address: chain.deployment.stablecoin,
        abi: erc20Abi,
        functionName: "balanceOf",
        args: [h.wallet],
      });
      expect(paid).toBe((h.balance * amountPerToken) / E18);
    }
    const intents = await db.selectFrom("chain_transactions").selectAll().where("intent_key", "like", "dividend-%").execute();
    // The approval of the batch contract (first payout from this vault) and two batches of at most 2 holders.
    expect(intents.filter((t) => t.intent_key.includes("-batch-"))).toHaveLength(2);
    for (const t of intents) {
      expect(t).toMatchObject({ status: "confirmed", custody_status: "COMPLETED", raw_tx: null });
      expect(callsFor([t.intent_key])).toHaveLength(1);
    }
    const lines = await db.selectFrom("distribution_lines").selectAll().where("distribution_id", "=", id).execute();
    for (const line of lines) expect(intents.map((t) => t.mined_hash)).toContain(line.tx_hash);
  }, 120_000);

  it("a stablecoin order settles through Fireblocks: one CONTRACT_CALL of the DvP contract's settle, both legs exact, a redelivered job changes nothing", async () => {
    const USDC = 1_000_000n;
    const buyer = createChainClients({ rpcUrl: chain.anvil.url, chainId: 31337, privateKey: generatePrivateKey(), pollingIntervalMs: 50 });
    const wallet = buyer.account.address;
    await chain.rpc("anvil_setBalance", [wallet, "0x56BC75E2D63100000"]);
    await chain.clients.publicClient.waitForTransactionReceipt({
      hash: await chain.clients.walletClient.writeContract({ address: usdc, abi: stablecoinAbi, functionName: "mint", args: [wallet, 500n * USDC] }),
    });
    const investorId = `inv-dvp-${Date.now()}`;
    await stack.c.dbh.db
      .insertInto("investors")
      .values({ id: investorId, wallet, first_name: "A", last_name: "B", date_of_birth: "1980-01-01", nationality: "DE", kyc_status: "approved" })
      .execute();
    const ref = `DVP-FB-${Date.now()}`;
    const tokens = 7n * E18;
    const placed = await fetch(`${stack.base}/api/orders`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({
        rail: "stablecoin",
        referenceId: ref,
        investorId,
        tokenAddress: token,
        tokenAmount: tokens.toString(),
        cashToken: usdc,
        cashAmount: "120.25",
      }),
    });
    expect(placed.status, await placed.clone().text()).toBe(201);
    const cash = 120_250_000n;
    const receiverBefore = await chain.balanceOf(usdc, chain.signer);
    await chain.clients.publicClient.waitForTransactionReceipt({
      hash: await buyer.walletClient.writeContract({ address: usdc, abi: erc20Abi, functionName: "approve", args: [dvp, cash] }),
    });

    const db = stack.c.dbh.db;
    const done = await waitFor(
      async () => {
        const o = await db.selectFrom("orders").selectAll().where("reference_id", "=", ref).executeTakeFirstOrThrow();
        return o.status === "completed" ? o : undefined;
      },
      60_000,
      "order settled",
    );
    expect(await chain.balanceOf(token, wallet)).toBe(tokens);
    expect(await chain.balanceOf(usdc, wallet)).toBe(500n * USDC - cash);
    expect((await chain.balanceOf(usdc, chain.signer)) - receiverBefore).toBe(cash);

    const intentKey = `dvp:${ref}`;
    const [intent, ...more] = await db.selectFrom("chain_transactions").selectAll().where("intent_key", "like", `dvp:${ref}%`).execute();
    expect(more).toEqual([]);
    const calls = callsFor([intentKey]);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ status: "COMPLETED", source: { type: "VAULT_ACCOUNT", id: fb.signerVaultId } });
    expect(calls[0]!.destination).toEqual({ type: "ONE_TIME_ADDRESS", oneTimeAddress: { address: dvp } });
    expect(intent).toMatchObject({
      intent_key: intentKey,
      status: "confirmed",
      custody_tx_id: calls[0]!.id,
      custody_status: "COMPLETED",
      mined_hash: calls[0]!.txHash,
    });
    expect(done.settlement_tx_hash).toBe(calls[0]!.txHash);
    const legs = await db.selectFrom("dvp_legs").selectAll().where("reference_id", "=", ref).orderBy("leg").execute();
    expect(legs.map((l) => [l.leg, l.from_address, l.to_address, l.amount, l.tx_hash])).toEqual([
      ["cash", wallet, chain.signer, cash.toString(), done.settlement_tx_hash],
      ["delivery", "0x0000000000000000000000000000000000000000", wallet, tokens.toString(), done.settlement_tx_hash],
    ]);

    // Another run of the settlement job: it finds the order completed and asks Fireblocks for nothing new.
    await enqueueSettlement(stack.c.queues, ref, 99);
    const again = await completedJob(stack.c.queues.queue("dvp-settlements"), `dvp-${ref}-99`, 20_000);
    expect(again.returnvalue).toEqual({ outcome: "not_settling", status: "completed" });
    expect(callsFor([intentKey])).toHaveLength(1);
    expect(await chain.balanceOf(token, wallet)).toBe(tokens);
  }, 90_000);

  it("settings: fireblocks needs its API, a vault and its address, and refuses a local key beside it", () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig({ REDIS_URL: "redis://127.0.0.1:6379", RPC_URL: chain.anvil.url, ...env });
        return [];
      } catch (err) {
        return (err as ConfigError).problems;
      }
    };
    const all = problems({ SIGNER_BACKEND: "fireblocks", SIGNER_PRIVATE_KEY: ANVIL_KEYS.signer }).join("\n");
    expect(all).toContain("FIREBLOCKS_API_URL, FIREBLOCKS_API_KEY, FIREBLOCKS_API_SECRET_KEY: required with SIGNER_BACKEND=fireblocks");
    expect(all).toContain("FIREBLOCKS_SIGNER_VAULT_ID: required");
    expect(all).toContain("FIREBLOCKS_SIGNER_ADDRESS: required");
    expect(all).toContain("SIGNER_PRIVATE_KEY: not used with SIGNER_BACKEND=fireblocks");
    expect(problems({ SIGNER_BACKEND: "hsm" }).join("\n")).toContain("SIGNER_BACKEND: expected local or fireblocks");
    // ETH is only mainnet's (and the local chains') asset id: elsewhere it must be named.
    expect(problems({ SIGNER_BACKEND: "fireblocks", CHAIN_ID: "11155111" }).join("\n")).toContain("FIREBLOCKS_SIGNER_ASSET_ID: required on chain 11155111");
    expect(problems({ SIGNER_BACKEND: "fireblocks", CHAIN_ID: "11155111", FIREBLOCKS_SIGNER_ASSET_ID: "ETH_TEST5" }).join("\n")).not.toContain(
      "FIREBLOCKS_SIGNER_ASSET_ID",
    );
    expect(problems({ SIGNER_BACKEND: "fireblocks", FIREBLOCKS_SIGNER_ADDRESS: "0x12" }).join("\n")).toContain(
      "FIREBLOCKS_SIGNER_ADDRESS: expected 0x followed by 40 hex digits",
    );
    expect(
      problems({
        SIGNER_BACKEND: "fireblocks",
        FIREBLOCKS_API_URL: fb.url,
        FIREBLOCKS_API_KEY: fb.apiKey,
        FIREBLOCKS_API_SECRET_KEY: fb.secretKeyPem,
        FIREBLOCKS_SIGNER_VAULT_ID: "0",
        FIREBLOCKS_SIGNER_ADDRESS: chain.signer,
      }),
    ).toEqual([]);
  });
});

// Real worker processes: one SIGKILLed right after Fireblocks answered the create (nothing of
// it stored), with no webhooks to tell; the next process's retry of the same job asks
// Fireblocks by externalTxId, finds the call and carries on with it.
describe("Fireblocks signer across a worker crash", () => {
  const name = uniqueName("fireblocks_crash");
  let chain: TestChain;
  let fb: FireblocksApiStub;
  let dbh: DbHandle;
  let queues: QueueSet;
  let closeQueues: () => Promise<void>;
  const workers: Spawned[] = [];

  const startWorker = async (hook?: string) => {
    const w = spawnNode(
      hook ? `${ROOT}test/fixtures/worker-hooked.mjs` : `${ROOT}dist/src/bin/worker.js`,
      [],
      testEnv(name, {
        RPC_URL: chain.anvil.url,
        CHAIN_ID: "31337",
        CHAIN_POLL_INTERVAL_MS: "100",
        SIGNER_BACKEND: "fireblocks",
        FIREBLOCKS_API_URL: fb.url,
        FIREBLOCKS_API_KEY: fb.apiKey,
        FIREBLOCKS_API_SECRET_KEY: fb.secretKeyPem,
        FIREBLOCKS_SIGNER_VAULT_ID: fb.signerVaultId!,
        FIREBLOCKS_SIGNER_ADDRESS: fb.signerAddress!,
        FIREBLOCKS_STATUS_POLL_MS: "500",
        WORKER_QUEUES: "mints",
        // A killed worker's job is handed out again within seconds.
        WORKER_LOCK_DURATION_MS: "5000",
        ...(hook ? { HOOK: hook } : {}),
      }),
    );
    workers.push(w);
    await w.waitForOutput(/worker started/, 30_000);
    return w;
  };

  beforeAll(async () => {
    chain = await startTestChain({ blockTime: 1 });
    fb = await startFireblocksApiStub(undefined, { chain: { rpcUrl: chain.anvil.url, chainId: 31337, privateKey: ANVIL_KEYS.signer } });
    dbh = await openTestDatabase(name);
    ({ queues, close: closeQueues } = await openTestQueues(name));
  }, 60_000);
  afterAll(async () => {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGKILL");
    await Promise.all(workers.map((w) => w.exited));
    await closeQueues?.();
    await dbh?.close();
    await fb?.close();
    await chain?.stop();
    await cleanup(name);
  });

  it("killed after Fireblocks created the call: the next worker finds it by externalTxId; one call, minted once", async () => {
    const token = chain.deployment.securityToken;
    const [o] = await seedOrders(dbh.db, 1, token, () => 9n * 10n ** 18n, "minting");
    await queues.queue("mints").add("mint", { referenceId: o!.ref }, { jobId: `mint-${o!.ref}` });
    const a = await startWorker("custody-created");
    await a.waitForOutput(/custody created mint:/, 30_000);
    await a.exited;
    const intentKey = `mint:${o!.ref}`;
    const calls = () => [...fb.transactions.values()].filter((t) => t.externalTxId === `${name}:31337:${intentKey}`);
    expect(calls()).toHaveLength(1);
    // The crash left the intent unlinked: only Fireblocks knows of the call.
    expect(await dbh.db.selectFrom("chain_transactions").select(["status", "custody_tx_id"]).where("intent_key", "=", intentKey).executeTakeFirst()).toEqual({
      status: "intent",
      custody_tx_id: null,
    });

    await startWorker();
    await waitFor(
      async () => (await dbh.db.selectFrom("orders").select("status").where("reference_id", "=", o!.ref).executeTakeFirstOrThrow()).status === "completed",
      60_000,
      "order completed by the second worker",
    );
    expect(await chain.balanceOf(token, o!.wallet)).toBe(9n * 10n ** 18n);
    expect(calls()).toHaveLength(1);
    const intent = await dbh.db.selectFrom("chain_transactions").selectAll().where("intent_key", "=", intentKey).executeTakeFirstOrThrow();
    expect(intent).toMatchObject({ status: "confirmed", custody_tx_id: calls()[0]!.id, mined_hash: calls()[0]!.txHash });
    // One create; the second worker asked Fireblocks by externalTxId before simulating or creating again.
    expect(fb.requests.filter((r) => r.method === "POST" && r.path === "/v1/transactions").map((r) => r.status)).toEqual([200]);
    expect(fb.requests.some((r) => r.path.startsWith("/v1/transactions/external_tx_id/") && r.status === 200)).toBe(true);
  }, 120_000);
});
