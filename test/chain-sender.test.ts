import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UnrecoverableError } from "bullmq";
import { createPublicClient, custom, encodeFunctionData, http, type Address, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { ANVIL_KEYS } from "../src/chain/anvil.js";
import { securityTokenAbi } from "../src/chain/artifacts/SecurityToken.js";
import { chainDefinition } from "../src/chain/clients.js";
import { ChainMonitor } from "../src/chain/monitor.js";
import { TxSender } from "../src/chain/tx-sender.js";
import type { DbHandle } from "../src/db/client.js";
import { createLogger } from "../src/log.js";
import { cleanup, uniqueName } from "./helpers/env.js";
import { randomWallet, startTestChain, type TestChain } from "./helpers/chain.js";
import { openTestDatabase } from "./helpers/stack.js";

const name = uniqueName("chain_sender");

describe("exactly-once transaction sender", () => {
  let chain: TestChain;
  let dbh: DbHandle;
  let client: PublicClient;
  let flakyClient: PublicClient;
  let dropNextBroadcast = false;
  let monitor: ChainMonitor;

  const sender = (publicClient: PublicClient, receiptTimeoutMs = 30_000) =>
    new TxSender({
      db: dbh.db,
      publicClient,
      accounts: [privateKeyToAccount(ANVIL_KEYS.signer)],
      chainId: 31337,
      log: createLogger("silent"),
      maxFeePerGas: 1_000_000_000_000n,
      receiptTimeoutMs,
      pollingIntervalMs: 50,
    });
  const mint = (to: Address, amount: bigint) => encodeFunctionData({ abi: securityTokenAbi, functionName: "mint", args: [to, amount] });

  beforeAll(async () => {
    // Mixed mining: a nonce broadcast after its successor must still be picked up (foundry-rs/foundry#10122).
    chain = await startTestChain({ mixedMining: true });
    dbh = await openTestDatabase(name);
    const viemChain = chainDefinition(31337, chain.anvil.url);
    client = createPublicClient({ chain: viemChain, transport: http(chain.anvil.url), pollingInterval: 50 });
    // The network between us and the node fails once at broadcast: as if the process died
    // after storing the signed transaction and before sending it.
    const real = http(chain.anvil.url)({ chain: viemChain });
    flakyClient = createPublicClient({
      chain: viemChain,
      transport: custom({
        request: async (args: { method: string; params?: unknown }) => {
          if (args.method === "eth_sendRawTransaction" && dropNextBroadcast) {
            dropNextBroadcast = false;
            throw new Error("connection reset");
          }
          return real.request(args as never);
        },
      }),
      pollingInterval: 50,
    }) as PublicClient;
    // What the worker processes run: it takes every sent transaction to final.
    monitor = new ChainMonitor({
      db: dbh.db,
      publicClient: client,
      sender: sender(client),
      log: createLogger("silent"),
      confirmations: 1,
      replaceAfterBlocks: 3,
      pollingIntervalMs: 50,
    });
    monitor.start();
  });
  afterAll(async () => {
    await monitor?.stop();
    await dbh?.close();
    await chain?.stop();
    await cleanup(name);
  });

  it("many concurrent sends of one intent sign and mine one transaction", async () => {
    const to = randomWallet();
    const s = sender(client);
    const req = { intentKey: "test:concurrent", to: chain.deployment.securityToken, data: mint(to, 77n) };
    const results = await Promise.all(Array.from({ length: 10 }, () => s.send(req)));
    expect(new Set(results.map((r) => r.hash)).size).toBe(1);
    expect(results.every((r) => r.status === "confirmed")).toBe(true);
    expect(await chain.balanceOf(chain.deployment.securityToken, to)).toBe(77n);
    expect(await chain.signerNonce()).toBe(1);
    // Sent again later: the stored result, no new transaction.
    expect((await s.send(req)).hash).toBe(results[0]!.hash);
    expect(await chain.signerNonce()).toBe(1);
  });

  it("an intent key reused for a different transaction is refused as unrecoverable", async () => {
    const err = await sender(client)
      .send({ intentKey: "test:concurrent", to: chain.deployment.securityToken, data: mint(randomWallet(), 1n) })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnrecoverableError);
    expect((err as Error).message).toContain("already recorded with a different transaction");
  });

  it("a transaction signed but never broadcast does not leave a gap: the monitor broadcasts it and the later nonces mine behind it", async () => {
    const start = await chain.signerNonce();
    const first = randomWallet();
    const second = randomWallet();
    dropNextBroadcast = true;
    const lost = await sender(flakyClient)
      .send({ intentKey: "test:lost", to: chain.deployment.securityToken, data: mint(first, 1n) })
      .catch((e: unknown) => e);
    expect(String(lost)).toMatch(/connection reset|HTTP request failed|request/i);
    const stored = await sender(client).find("test:lost");
    expect(stored).toEqual(expect.objectContaining({ status: "signed", nonce: String(start) }));

    // The next intent gets the next nonce; the monitor sees the lowest unmined nonce missing
    // from the pool and broadcasts the stored bytes, so both mine.
    const s = sender(client);
    const next = await s.send({ intentKey: "test:next", to: chain.deployment.securityToken, data: mint(second, 2n) });
    expect(next.nonce).toBe(BigInt(start + 1));
    const resumed = await s.waitFinal("test:lost");
    expect(resumed.hash).toBe(stored!.tx_hash);
    expect(resumed.status).toBe("confirmed");
    expect(await chain.balanceOf(chain.deployment.securityToken, first)).toBe(1n);
    expect(await chain.balanceOf(chain.deployment.securityToken, second)).toBe(2n);
    expect(await chain.signerNonce()).toBe(start + 2);
    // The lost transaction went out as the bytes stored for it (the one behind it may have been
    // re-bid while it waited, same nonce); two nonces in all.
    const versions = await dbh.db.selectFrom("chain_tx_versions").select("tx_hash").where("intent_key", "=", "test:lost").execute();
    expect(versions).toEqual([{ tx_hash: stored!.tx_hash }]);
  });

  it("a call that would revert is refused before any nonce is taken", async () => {
    const before = await dbh.db.selectFrom("signer_nonces").select("next_nonce").executeTakeFirstOrThrow();
    // The stablecoin's mint needs MINTER_ROLE too; the BatchTransfer contract has no mint at all.
    const err = await sender(client)
      .send({ intentKey: "test:revert", to: chain.deployment.batchTransfer, data: mint(randomWallet(), 1n) })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnrecoverableError);
    expect((err as Error).message).toContain("would revert");
    const after = await dbh.db.selectFrom("signer_nonces").select("next_nonce").executeTakeFirstOrThrow();
    expect(after.next_nonce).toBe(before.next_nonce);
  });
});
