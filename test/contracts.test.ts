import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BaseError, erc20Abi, keccak256, toBytes, zeroAddress, type Address, type Hex } from "viem";
import { compileContracts, staleArtifacts } from "../scripts/compile-contracts.mjs";
import { ANVIL_KEYS } from "../src/chain/anvil.js";
import { securityTokenAbi } from "../src/chain/artifacts/SecurityToken.js";
import { stablecoinAbi } from "../src/chain/artifacts/Stablecoin.js";
import { batchTransferAbi } from "../src/chain/artifacts/BatchTransfer.js";
import { dvpAbi } from "../src/chain/dvp.js";
import { deployDvP, grantMinter } from "../src/chain/deploy.js";
import { createChainClients, type ChainClients } from "../src/chain/clients.js";
import { randomWallet, startTestChain, type TestChain } from "./helpers/chain.js";

describe("contracts", () => {
  let chain: TestChain;
  let signer: ChainClients;
  let outsider: ChainClients;

  beforeAll(async () => {
    chain = await startTestChain();
    signer = createChainClients({ rpcUrl: chain.anvil.url, chainId: 31337, privateKey: ANVIL_KEYS.signer, pollingIntervalMs: 50 });
    outsider = createChainClients({ rpcUrl: chain.anvil.url, chainId: 31337, privateKey: ANVIL_KEYS.spare, pollingIntervalMs: 50 });
  });
  afterAll(async () => {
    await chain?.stop();
  });

  it("the committed ABI and bytecode match a fresh offline compile", () => {
    const fresh = compileContracts();
    expect(Object.keys(fresh).sort()).toEqual(["BatchTransfer.ts", "DvP.ts", "MintableToken.ts", "SecurityToken.ts", "Stablecoin.ts"]);
    expect(staleArtifacts(fresh)).toEqual([]);
  }, 60_000);

  it("security token: 18 decimals, mint only by the minter role", async () => {
    const token = chain.deployment.securityToken;
    const read = chain.clients.publicClient;
    expect(await read.readContract({ address: token, abi: erc20Abi, functionName: "decimals" })).toBe(18);
    const minterRole = keccak256(toBytes("MINTER_ROLE"));
    expect(await read.readContract({ address: token, abi: securityTokenAbi, functionName: "hasRole", args: [minterRole, chain.signer] })).toBe(true);
    const to = randomWallet();
    const hash = await signer.walletClient.writeContract({ address: token, abi: securityTokenAbi, functionName: "mint", args: [to, 5n * 10n ** 18n] });
    expect((await read.waitForTransactionReceipt({ hash })).status).toBe("success");
    expect(await chain.balanceOf(token, to)).toBe(5n * 10n ** 18n);
    const denied = await outsider.walletClient.writeContract({ address: token, abi: securityTokenAbi, functionName: "mint", args: [to, 1n] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(denied).toBeInstanceOf(BaseError);
    expect((denied as BaseError).message).toMatch(/AccessControlUnauthorizedAccount/);
    expect(await chain.balanceOf(token, to)).toBe(5n * 10n ** 18n);
  });

  it("stablecoin has 6 decimals; batch transfer pays many holders from an allowance in one transaction", async () => {
    const usd = chain.deployment.stablecoin;
    const read = chain.clients.publicClient;
    expect(await read.readContract({ address: usd, abi: erc20Abi, functionName: "decimals" })).toBe(6);
    const wait = async (hash: `0x${string}`) => expect((await read.waitForTransactionReceipt({ hash })).status).toBe("success");
    await wait(await signer.walletClient.writeContract({ address: usd, abi: stablecoinAbi, functionName: "mint", args: [chain.signer, 1_000_000_000n] }));
    await wait(
      await signer.walletClient.writeContract({
        address: usd,
        abi: stablecoinAbi,
        functionName: "approve",
        args: [chain.deployment.batchTransfer, 3_500_000n],
      }),
    );
    const holders = [randomWallet(), randomWallet()];
    await wait(
      await signer.walletClient.writeContract({
        address: chain.deployment.batchTransfer,
        abi: batchTransferAbi,
        functionName: "batchTransferFrom",
        args: [usd, holders, [1_250_000n, 2_250_000n]],
      }),
    );
    expect(await chain.balanceOf(usd, holders[0]!)).toBe(1_250_000n);
    expect(await chain.balanceOf(usd, holders[1]!)).toBe(2_250_000n);
  });

  describe("DvP", () => {
    let dvp: Address;
    let seller: ChainClients;
    const read = () => chain.clients.publicClient;
    const ok = async (hash: Hex) => expect((await read().waitForTransactionReceipt({ hash })).status).toBe("success");
    const failure = (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (e: unknown) => (e as BaseError).message,
      );
    const settleArgs = (id: Hex, cash: bigint, tokens: bigint, from: Address = zeroAddress, receiver: Address = chain.signer) =>
      [id, outsider.account.address, chain.deployment.stablecoin, cash, receiver, chain.deployment.securityToken, tokens, from] as const;

    beforeAll(async () => {
      seller = createChainClients({ rpcUrl: chain.anvil.url, chainId: 31337, privateKey: ANVIL_KEYS.extraSigners[0], pollingIntervalMs: 50 });
      dvp = await deployDvP(chain.clients, chain.clients.account.address, [chain.signer]);
      // The deployer is the security token's admin in tests.
      await grantMinter(chain.clients, chain.deployment.securityToken, dvp);
      const buyer = outsider.account.address;
      await ok(
        await signer.walletClient.writeContract({ address: chain.deployment.stablecoin, abi: stablecoinAbi, functionName: "mint", args: [buyer, 10_000_000n] }),
      );
    });

    it("primary: cash from the buyer's allowance to the receiver and minted tokens to the buyer, once per settlement id; operators only", async () => {
      const usd = chain.deployment.stablecoin;
      const token = chain.deployment.securityToken;
      const buyer = outsider.account.address;
      await ok(await outsider.walletClient.writeContract({ address: usd, abi: erc20Abi, functionName: "approve", args: [dvp, 5_000_000n] }));
      const before = {
        cash: await chain.balanceOf(usd, chain.signer),
        buyerCash: await chain.balanceOf(usd, buyer),
        tokens: await chain.balanceOf(token, buyer),
      };
      const id = keccak256(toBytes("contracts-test:primary"));

      // An outsider cannot settle, even its own purchase.
      expect(
        await failure(outsider.walletClient.writeContract({ address: dvp, abi: dvpAbi, functionName: "settle", args: settleArgs(id, 1_500_000n, 7n) })),
      ).toMatch(/AccessControlUnauthorizedAccount/);

      const hash = await signer.walletClient.writeContract({ address: dvp, abi: dvpAbi, functionName: "settle", args: settleArgs(id, 1_500_000n, 7n) });
      const receipt = await read().waitForTransactionReceipt({ hash });
      expect(receipt.status).toBe("success");
      expect(await chain.balanceOf(usd, chain.signer)).toBe(before.cash + 1_500_000n);
      expect(await chain.balanceOf(usd, buyer)).toBe(before.buyerCash - 1_500_000n);
      expect(await chain.balanceOf(token, buyer)).toBe(before.tokens + 7n);
      const events = await read().getContractEvents({ address: dvp, abi: dvpAbi, fromBlock: receipt.blockNumber, toBlock: receipt.blockNumber });
      expect(events.map((e) => [e.eventName, e.args])).toEqual([
        ["CashLeg", { settlementId: id, token: usd, buyer, receiver: chain.signer, amount: 1_500_000n }],
        ["DeliveryLeg", { settlementId: id, token, buyer, seller: zeroAddress, amount: 7n }],
      ]);
      expect(await read().readContract({ address: dvp, abi: dvpAbi, functionName: "settled", args: [id] })).toBe(true);

      // The same settlement id again, with allowance left for it: refused, nothing moves.
      expect(
        await failure(signer.walletClient.writeContract({ address: dvp, abi: dvpAbi, functionName: "settle", args: settleArgs(id, 1_500_000n, 7n) })),
      ).toMatch(/AlreadySettled/);
      expect(await chain.balanceOf(token, buyer)).toBe(before.tokens + 7n);
      expect(await chain.balanceOf(usd, buyer)).toBe(before.buyerCash - 1_500_000n);
    });

    it("secondary: both legs between two investors, atomically; a missing cash allowance moves neither", async () => {
      const usd = chain.deployment.stablecoin;
      const token = chain.deployment.securityToken;
      const buyer = outsider.account.address;
      const from = seller.account.address;
      await ok(await signer.walletClient.writeContract({ address: token, abi: securityTokenAbi, functionName: "mint", args: [from, 100n] }));
      await ok(await seller.walletClient.writeContract({ address: token, abi: erc20Abi, functionName: "approve", args: [dvp, 100n] }));
      await ok(await outsider.walletClient.writeContract({ address: usd, abi: erc20Abi, functionName: "approve", args: [dvp, 2_000_000n] }));
      const sellerCash = await chain.balanceOf(usd, from);
      const buyerTokens = await chain.balanceOf(token, buyer);

      // More cash than the buyer allowed: the whole settlement reverts; the seller keeps the tokens.
      const tooMuch = keccak256(toBytes("contracts-test:secondary-too-much"));
      expect(
        await failure(
          signer.walletClient.writeContract({ address: dvp, abi: dvpAbi, functionName: "settle", args: settleArgs(tooMuch, 2_000_001n, 40n, from, from) }),
        ),
      ).toMatch(/ERC20InsufficientAllowance/);
      expect(await chain.balanceOf(token, from)).toBe(100n);
      expect(await read().readContract({ address: dvp, abi: dvpAbi, functionName: "settled", args: [tooMuch] })).toBe(false);

      const id = keccak256(toBytes("contracts-test:secondary"));
      await ok(
        await signer.walletClient.writeContract({ address: dvp, abi: dvpAbi, functionName: "settle", args: settleArgs(id, 2_000_000n, 40n, from, from) }),
      );
      expect(await chain.balanceOf(token, from)).toBe(60n);
      expect(await chain.balanceOf(token, buyer)).toBe(buyerTokens + 40n);
      expect(await chain.balanceOf(usd, from)).toBe(sellerCash + 2_000_000n);
    });
  });
});
