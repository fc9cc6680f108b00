import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BaseError, erc20Abi, keccak256, toBytes } from "viem";
import { compileContracts, staleArtifacts } from "../scripts/compile-contracts.mjs";
import { ANVIL_KEYS } from "../src/chain/anvil.js";
import { securityTokenAbi } from "../src/chain/artifacts/SecurityToken.js";
import { stablecoinAbi } from "../src/chain/artifacts/Stablecoin.js";
import { batchTransferAbi } from "../src/chain/artifacts/BatchTransfer.js";
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
    expect(Object.keys(fresh).sort()).toEqual(["BatchTransfer.ts", "MintableToken.ts", "SecurityToken.ts", "Stablecoin.ts"]);
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
});
