import { erc20Abi, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { ANVIL_KEYS, startAnvil, type Anvil } from "../../src/chain/anvil.js";
import { createChainClients, type ChainClients } from "../../src/chain/clients.js";
import { deployContracts, type Deployment } from "../../src/chain/deploy.js";

export interface TestChain {
  anvil: Anvil;
  deployment: Deployment;
  /** Read-only clients (the deployer's); never used to send as the signer. */
  clients: ChainClients;
  signer: Address;
  /** Config variables pointing a process at this chain with the hookrail signer. */
  env: Record<string, string>;
  balanceOf(token: Address, holder: Address): Promise<bigint>;
  signerNonce(): Promise<number>;
  rpc(method: string, params?: unknown[]): Promise<unknown>;
  stop(): Promise<void>;
}

/**
 * anvil on a free port with the contracts deployed by a separate deployer account.
 * `mixedMining` for tests whose many worker processes send one signer's transactions out of
 * nonce order (see AnvilOptions.mixedMining); not for tests that pause automine themselves.
 */
export async function startTestChain(opts: { mixedMining?: boolean } = {}): Promise<TestChain> {
  const anvil = await startAnvil({ mixedMining: opts.mixedMining });
  const clients = createChainClients({ rpcUrl: anvil.url, chainId: 31337, privateKey: ANVIL_KEYS.deployer, pollingIntervalMs: 50 });
  const signer = privateKeyToAccount(ANVIL_KEYS.signer).address;
  const deployment = await deployContracts(clients, { admin: signer });
  return {
    anvil,
    deployment,
    clients,
    signer,
    env: { RPC_URL: anvil.url, CHAIN_ID: "31337", SIGNER_PRIVATE_KEY: ANVIL_KEYS.signer, CHAIN_POLL_INTERVAL_MS: "50" },
    balanceOf: (token, holder) => clients.publicClient.readContract({ address: token, abi: erc20Abi, functionName: "balanceOf", args: [holder] }),
    signerNonce: () => clients.publicClient.getTransactionCount({ address: signer, blockTag: "latest" }),
    rpc: async (method, params = []) => {
      const res = await fetch(anvil.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
      });
      const body = (await res.json()) as { result?: unknown; error?: { message: string } };
      if (body.error) throw new Error(`${method}: ${body.error.message}`);
      return body.result;
    },
    stop: () => anvil.stop(),
  };
}

/** A fresh random wallet address for an investor. */
export function randomWallet(): Address {
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  return `0x${Buffer.from(bytes).toString("hex")}` as Hex as Address;
}
