import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { erc20Abi, parseAbiItem, type Address } from "viem";
import { ANVIL_KEYS } from "../src/chain/anvil.js";
import { securityTokenAbi } from "../src/chain/artifacts/SecurityToken.js";
import { stablecoinAbi } from "../src/chain/artifacts/Stablecoin.js";
import { createChainClients, type ChainClients } from "../src/chain/clients.js";
import { deploySecurityToken } from "../src/chain/deploy.js";
import { startRegistrarStub, type RegistrarStub } from "../src/dev/stubs/registrar.js";
import type { Clients } from "../src/processes/clients.js";
import { QUEUE_MODULES } from "../src/processes/queue-modules.js";
import { DIVIDENDS_DUE_SCHEDULER } from "../src/schedulers/dividends-due.js";
import { registerSchedulers } from "../src/schedulers/register.js";
import { randomWallet, startTestChain, type TestChain } from "./helpers/chain.js";
import { waitFor } from "./helpers/env.js";
import { startStack, type TestStack } from "./helpers/stack.js";

const TOKEN = "dividends-admin-token-0123456789";
const E18 = 10n ** 18n;

describe("dividend distributions (anvil, Redis, Postgres, registrar stub)", () => {
  let chain: TestChain;
  let signer: ChainClients;
  let registrar: RegistrarStub;
  let stack: TestStack;
  let c: Clients;

  const call = async (method: string, path: string, body?: unknown, token: string | null = TOKEN) => {
    const res = await fetch(`${stack.base}/api/distributions${path}`, {
      method,
      headers: { "content-type": "application/json", ...(token !== null ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  const deployer = () => chain.clients;
  const wait = (hash: `0x${string}`) => chain.clients.publicClient.waitForTransactionReceipt({ hash });
  const newToken = (symbol: string) => deploySecurityToken(deployer(), deployer().account.address, `Dividend ${symbol}`, symbol);
  const mint = async (token: Address, to: Address, amount: bigint) =>
    wait(await deployer().walletClient.writeContract({ address: token, abi: securityTokenAbi, functionName: "mint", args: [to, amount] }));
  const payout = () => chain.deployment.stablecoin;
  const countRows = async (table: "distributions" | "distribution_lines") =>
    Number(
      (
        await c.dbh.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as("n"))
          .executeTakeFirstOrThrow()
      ).n,
    );

  beforeAll(async () => {
    chain = await startTestChain();
    signer = createChainClients({ rpcUrl: chain.anvil.url, chainId: 31337, privateKey: ANVIL_KEYS.signer, pollingIntervalMs: 50 });
    // Fund the treasury (the signer) before hookrail's sender takes over the signer's nonces.
    await wait(await signer.walletClient.writeContract({ address: payout(), abi: stablecoinAbi, functionName: "mint", args: [chain.signer, 10n ** 15n] }));
    registrar = await startRegistrarStub();
    stack = await startStack("dividends", {
      env: {
        ...chain.env,
        ADMIN_API_TOKEN: TOKEN,
        REGISTRAR_API_URL: registrar.url,
        REGISTRAR_API_KEY: registrar.apiKey,
        DIVIDEND_BATCH_CONTRACT: chain.deployment.batchTransfer,
        DIVIDEND_BATCH_SIZE: "3",
        WORKER_QUEUES: "dividends-due,dividend-payouts,registrar-notices",
      },
      web: true,
      worker: true,
    });
    c = stack.c;
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
    await registrar?.close();
    await chain?.stop();
  });

  it("the dividends-due scheduler is registered once however often workers start", async () => {
    const register = () => registerSchedulers(c.queues, QUEUE_MODULES, c.config);
    await Promise.all([register(), register(), register()]);
    const schedulers = await c.queues.queue("dividends-due").getJobSchedulers();
    expect(schedulers.map((s) => s.key)).toEqual([DIVIDENDS_DUE_SCHEDULER]);
    expect(schedulers[0]!.pattern).toBe("* * * * *");
  });

  it("bad requests: 401 without the token, 400 with what is wrong; nothing stored", async () => {
    const valid = {
      tokenAddress: chain.deployment.securityToken,
      recordBlock: 1,
      paymentDate: "2026-01-01",
      amountPerToken: "1000",
      payoutTokenAddress: payout(),
    };
    expect((await call("POST", "", valid, null)).status).toBe(401);
    expect((await call("POST", "", valid, "wrong-token-wrong-token")).status).toBe(401);
    const bad = await call("POST", "", { ...valid, amountPerToken: "1.5", recordBlock: -1, paymentDate: "tomorrow", tokenAddress: "0x12" });
    expect(bad.status).toBe(400);
    expect(bad.body.issues.join("\n")).toMatch(/amountPerToken/);
    expect(bad.body.issues.join("\n")).toMatch(/recordBlock/);
    expect(bad.body.issues.join("\n")).toMatch(/paymentDate/);
    expect(bad.body.issues.join("\n")).toMatch(/tokenAddress/);
    expect((await call("POST", "", "{not json")).status).toBe(400);
    expect((await call("POST", "", { ...valid, extra: 1 })).status).toBe(400);
    expect((await call("GET", "/nope")).status).toBe(404);
    expect(await countRows("distributions")).toBe(0);
    expect(await c.queues.queue("registrar-notices").count()).toBe(0);
  });

  it("pays every holder at the record block exactly the computed amount once; later transfers change nothing", async () => {
    const token = await newToken("DIVA");
    const [a, b, cc, d, e, f, g, h] = Array.from({ length: 8 }, () => randomWallet());
    await mint(token, a!, 10n * E18);
    await mint(token, b!, 2n * E18 + E18 / 2n);
    await mint(token, cc!, 333_333_333_333_333_333n);
    await mint(token, d!, 7n); // rounds to zero: no line, all of it remainder
    await mint(token, e!, 1n * E18);
    await mint(token, h!, 5n * E18);
    await mint(token, f!, 3n * E18);
    const recordBlock = await chain.clients.publicClient.getBlockNumber();
    // After the record block: h sends everything to g, and g gets more; a is minted more.
    const hClients = createChainClients({ rpcUrl: chain.anvil.url, chainId: 31337, privateKey: ANVIL_KEYS.spare, pollingIntervalMs: 50 });
    await mint(token, hClients.account.address, 4n * E18);
    await wait(await hClients.walletClient.writeContract({ address: token, abi: erc20Abi, functionName: "transfer", args: [g!, 4n * E18] }));
    await mint(token, a!, 100n * E18);

    const amountPerToken = 1_234_567n; // 1.234567 payout units (6 decimals) per whole token
    const atRecord: [Address, bigint][] = [
      [a!, 10n * E18],
      [b!, 2n * E18 + E18 / 2n],
      [cc!, 333_333_333_333_333_333n],
      [d!, 7n],
      [e!, 1n * E18],
      [h!, 5n * E18],
      [f!, 3n * E18],
    ];
    const expected = new Map(atRecord.map(([who, bal]) => [who.toLowerCase(), (bal * amountPerToken) / E18]));
    const exactScaled = atRecord.reduce((s, [, bal]) => s + bal * amountPerToken, 0n);
    const totalDue = [...expected.values()].reduce((s, v) => s + v, 0n);

    const created = await call("POST", "", {
      tokenAddress: token,
      recordBlock: Number(recordBlock),
      paymentDate: new Date(Date.now() - 1_000).toISOString(),
      amountPerToken: amountPerToken.toString(),
      payoutTokenAddress: payout(),
    });
    expect(created.status).toBe(201);
    expect(created.body.status).toBe("scheduled");
    const id = created.body.id as string;
    // The scheduler's run, triggered now rather than waiting for the minute.
    await c.queues.queue("dividends-due").add("due", {});
    const view = await waitFor(
      async () => {
        const r = await call("GET", `/${id}`);
        return r.body.status === "completed" ? r.body : undefined;
      },
      60_000,
      "distribution completed",
    );

    expect(view.holderCount).toBe(6);
    expect(BigInt(view.totalDue)).toBe(totalDue);
    expect(view.totalPaid).toBe(view.totalDue);
    // Remainder = exact total - paid, in payout units with up to 18 decimals.
    const remainderScaled = exactScaled - totalDue * E18;
    expect(remainderScaled).toBeGreaterThan(0n);
    const [whole, frac = ""] = (view.remainder as string).split(".");
    expect(BigInt(whole!) * E18 + BigInt(frac.padEnd(18, "0"))).toBe(remainderScaled);
    expect(view.lines.map((l: any) => l.holder).sort()).toEqual([...expected.keys()].filter((k) => expected.get(k)! > 0n).sort());
    for (const line of view.lines) {
      expect(line.status).toBe("paid");
      expect(line.txHash).toMatch(/^0x[0-9a-f]{64}$/);
      expect(BigInt(line.amount)).toBe(expected.get(line.holder));
    }
    // On chain: each holder at the record block has exactly its amount; later holders nothing.
    for (const [who, amount] of expected) expect(await chain.balanceOf(payout(), who as Address), who).toBe(amount);
    expect(await chain.balanceOf(payout(), g!)).toBe(0n);
    expect(await chain.balanceOf(payout(), hClients.account.address)).toBe(0n);
    // 6 lines in batches of 3: two payout transactions, each confirmed.
    const txs = await c.dbh.db.selectFrom("chain_transactions").select(["intent_key", "status"]).where("intent_key", "like", `dividend-${id}-%`).execute();
    expect(txs.map((t) => t.status)).toEqual(["confirmed", "confirmed"]);

    // A redelivery after BullMQ forgot the job id, and another due run: nothing moves.
    await c.queues.queue("dividend-payouts").add("pay", { distributionId: id }, { jobId: `redelivered-${id}` });
    await c.queues.queue("dividends-due").add("due", {});
    await waitFor(async () => (await c.queues.queue("dividend-payouts").getJob(`redelivered-${id}`))?.finishedOn, 30_000, "redelivery finished");
    for (const [who, amount] of expected) expect(await chain.balanceOf(payout(), who as Address)).toBe(amount);
    const transfers = await chain.clients.publicClient.getLogs({
      address: payout(),
      event: parseAbiItem("event Transfer(address indexed from, address indexed to, uint256 value)"),
      args: { from: chain.signer },
      fromBlock: recordBlock,
    });
    expect(transfers).toHaveLength(6);
  }, 120_000);

  it("the registrar notice is retried with the same Idempotency-Key until accepted, and recorded once", async () => {
    const token = await newToken("DIVB");
    await mint(token, randomWallet(), E18);
    const recordBlock = await chain.clients.publicClient.getBlockNumber();
    registrar.failNext = 3;
    const before = registrar.attempts.length;
    const body = {
      id: "div-registrar-1",
      tokenAddress: token,
      recordBlock: recordBlock.toString(),
      paymentDate: "2099-06-30T12:00:00Z",
      amountPerToken: "5000000",
      payoutTokenAddress: payout(),
    };
    const created = await call("POST", "", body);
    expect(created.status).toBe(201);
    expect(created.body.registrarNotice.status).toBe("pending");
    const view = await waitFor(
      async () => {
        const r = await call("GET", "/div-registrar-1");
        return r.body.registrarNotice.status === "accepted" ? r.body : undefined;
      },
      60_000,
      "registrar notice accepted",
    );
    const attempts = registrar.attempts.slice(before);
    expect(attempts.map((a) => a.status)).toEqual([503, 503, 503, 201]);
    expect(new Set(attempts.map((a) => a.idempotencyKey))).toEqual(new Set(["hookrail-dividend-div-registrar-1"]));
    expect(new Set(attempts.map((a) => a.body)).size).toBe(1);
    const notice = JSON.parse(attempts[0]!.body);
    expect(notice).toMatchObject({ tokenAddress: token, actionType: "dividend", paymentDate: "2099-06-30T12:00:00.000Z", recordBlock: recordBlock.toString() });
    const block = await chain.clients.publicClient.getBlock({ blockNumber: recordBlock });
    expect(notice.recordDate).toBe(new Date(Number(block.timestamp) * 1000).toISOString());
    expect([...registrar.notices.keys()].filter((k) => k === "hookrail-dividend-div-registrar-1")).toHaveLength(1);
    expect(view.registrarNotice).toMatchObject({ reference: registrar.notices.get("hookrail-dividend-div-registrar-1")!.id, attempts: 4, lastError: null });
    // Not due until 2099: a due run leaves it scheduled.
    await c.queues.queue("dividends-due").add("due", {});
    await new Promise((r) => setTimeout(r, 500));
    expect((await call("GET", "/div-registrar-1")).body.status).toBe("scheduled");

    // The same declaration again: 200, same distribution, no second notice. Different: 409.
    const again = await call("POST", "", body);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe("div-registrar-1");
    const noId = await call("POST", "", { ...body, id: undefined });
    expect(noId.status).toBe(200);
    expect(noId.body.id).toBe("div-registrar-1");
    expect((await call("POST", "", { ...body, amountPerToken: "5000001" })).status).toBe(409);
    expect((await call("POST", "", { ...body, id: undefined, paymentDate: "2099-07-01" })).status).toBe(409);
    await new Promise((r) => setTimeout(r, 300));
    expect(registrar.attempts.length - before).toBe(4);
  }, 90_000);
});
