import { getAddress, getContractAddress, type Address, type Hex } from "viem";
import { batchTransferAbi, batchTransferBytecode } from "./artifacts/BatchTransfer.js";
import { dvPAbi, dvPBytecode } from "./artifacts/DvP.js";
import { mintableTokenAbi, mintableTokenBytecode } from "./artifacts/MintableToken.js";
import { securityTokenAbi, securityTokenBytecode } from "./artifacts/SecurityToken.js";
import { stablecoinAbi, stablecoinBytecode } from "./artifacts/Stablecoin.js";
import type { ChainClients } from "./clients.js";

export interface Deployment {
  securityToken: Address;
  stablecoin: Address;
  batchTransfer: Address;
}

export interface DeployOptions {
  /** Admin of the stablecoin and, unless `tokenAdmin` is given, of the security token. */
  admin: Address;
  /** May grant roles on the security token and freeze addresses; default `admin`. */
  tokenAdmin?: Address;
  /** Hold MINTER_ROLE on the security token (every hookrail signer); default `[admin]`. */
  minters?: Address[];
  tokenName?: string;
  tokenSymbol?: string;
}

/** The address a deployment transaction created, once mined; a failed deployment throws. */
async function deployedAt(deployer: ChainClients, hash: Hex): Promise<Address> {
  const receipt = await deployer.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success" || !receipt.contractAddress) throw new Error(`deployment ${hash} failed`);
  return getAddress(receipt.contractAddress);
}

/**
 * Deploy the three contracts from `deployer` (not the hookrail signer, whose nonces hookrail
 * assigns itself). Contracts already at the deployer's first three addresses are reused, so a
 * dev chain kept in a state file is not deployed twice.
 */
export async function deployContracts(deployer: ChainClients, opts: DeployOptions): Promise<Deployment> {
  const { publicClient, walletClient, account } = deployer;
  const expected = [0n, 1n, 2n].map((nonce) => getContractAddress({ from: account.address, nonce }));
  const codes = await Promise.all(expected.map((address) => publicClient.getCode({ address })));
  if (codes.every((c) => c && c !== "0x")) {
    return { securityToken: expected[0]!, stablecoin: expected[1]!, batchTransfer: expected[2]! };
  }
  const deployed = (hash: Hex) => deployedAt(deployer, hash);
  const securityToken = await deployed(
    await walletClient.deployContract({
      abi: securityTokenAbi,
      bytecode: securityTokenBytecode,
      args: [opts.tokenName ?? "Hookrail Security", opts.tokenSymbol ?? "HRS", opts.tokenAdmin ?? opts.admin, opts.minters ?? [opts.admin]],
    }),
  );
  const stablecoin = await deployed(
    await walletClient.deployContract({ abi: stablecoinAbi, bytecode: stablecoinBytecode, args: ["Hookrail USD", "HUSD", opts.admin] }),
  );
  const batchTransfer = await deployed(await walletClient.deployContract({ abi: batchTransferAbi, bytecode: batchTransferBytecode }));
  return { securityToken, stablecoin, batchTransfer };
}

/** A further security token (tests and dev can issue several); `minters` default `[admin]`. */
export async function deploySecurityToken(
  deployer: ChainClients,
  admin: Address,
  name: string,
  symbol: string,
  minters: Address[] = [admin],
): Promise<Address> {
  return deployedAt(
    deployer,
    await deployer.walletClient.deployContract({ abi: securityTokenAbi, bytecode: securityTokenBytecode, args: [name, symbol, admin, minters] }),
  );
}

/** A token with `mint` only (no `batchMint`): hookrail mints its orders one transaction each. */
export async function deployMintableToken(
  deployer: ChainClients,
  admin: Address,
  name: string,
  symbol: string,
  minters: Address[] = [admin],
): Promise<Address> {
  return deployedAt(
    deployer,
    await deployer.walletClient.deployContract({ abi: mintableTokenAbi, bytecode: mintableTokenBytecode, args: [name, symbol, admin, minters] }),
  );
}

/**
 * The delivery-versus-payment contract, settled by `operators` (every hookrail signer). For
 * primary issuance it must also hold MINTER_ROLE on each security token it delivers
 * ({@link grantMinter}).
 */
export async function deployDvP(deployer: ChainClients, admin: Address, operators: Address[]): Promise<Address> {
  return deployedAt(deployer, await deployer.walletClient.deployContract({ abi: dvPAbi, bytecode: dvPBytecode, args: [admin, operators] }));
}

/** Grant MINTER_ROLE on a security token (sent by the token's admin), e.g. to the DvP contract. */
export async function grantMinter(admin: ChainClients, token: Address, minter: Address): Promise<void> {
  const role = await admin.publicClient.readContract({ address: token, abi: securityTokenAbi, functionName: "MINTER_ROLE" });
  const hash = await admin.walletClient.writeContract({ address: token, abi: securityTokenAbi, functionName: "grantRole", args: [role, minter] });
  const receipt = await admin.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`grantRole ${hash} reverted`);
}

export interface DvpRailDeployment {
  /** A 6-decimal test USDC whose admin (and minter) is the deployer. */
  usdc: Address;
  dvp: Address;
}

/**
 * The stablecoin rail of a local chain: a test USDC and the DvP contract (operators: the
 * hookrail signers), which gets MINTER_ROLE on `securityToken` (the deployer must be its
 * admin). Deployed right after {@link deployContracts} (the deployer's next nonces); found
 * there again on a chain kept in a state file. `fund` receive 1,000,000 USDC each on first deploy.
 */
export async function deployDvpRail(
  deployer: ChainClients,
  opts: { operators: Address[]; securityToken: Address; fund?: Address[] },
): Promise<DvpRailDeployment> {
  const { publicClient, walletClient, account } = deployer;
  const expected = [3n, 4n].map((nonce) => getContractAddress({ from: account.address, nonce }));
  const codes = await Promise.all(expected.map((address) => publicClient.getCode({ address })));
  if (codes.every((c) => c && c !== "0x")) return { usdc: expected[0]!, dvp: expected[1]! };
  const usdc = await deployedAt(
    deployer,
    await walletClient.deployContract({ abi: stablecoinAbi, bytecode: stablecoinBytecode, args: ["Test USD Coin", "USDC", account.address] }),
  );
  const dvp = await deployDvP(deployer, account.address, opts.operators);
  const adminRole = await publicClient.readContract({ address: opts.securityToken, abi: securityTokenAbi, functionName: "DEFAULT_ADMIN_ROLE" });
  const isAdmin = await publicClient.readContract({
    address: opts.securityToken,
    abi: securityTokenAbi,
    functionName: "hasRole",
    args: [adminRole, account.address],
  });
  if (!isAdmin) {
    throw new Error(
      `the deployer ${account.address} is not the admin of ${opts.securityToken} (a chain deployed before the stablecoin rail): delete .anvil/ and the embedded database to redeploy`,
    );
  }
  await grantMinter(deployer, opts.securityToken, dvp);
  for (const holder of opts.fund ?? []) {
    const minted = await walletClient.writeContract({ address: usdc, abi: stablecoinAbi, functionName: "mint", args: [holder, 1_000_000n * 10n ** 6n] });
    await publicClient.waitForTransactionReceipt({ hash: minted });
  }
  return { usdc, dvp };
}
