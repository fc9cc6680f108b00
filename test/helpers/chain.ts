import { erc20Abi, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { ANVIL_KEYS, startAnvil, type Anvil } from "../../src/chain/anvil.js";
import { createChainClients, type ChainClients } from "../../src/chain/clients.js";
import { deployContracts, type Deployment } from "../../src/chain/deploy.js";

export interface TestChain {
  anvil: Anvil;
  /** Every hookrail signer of this chain (the first is the treasury). */
  signers: Address[];
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

export interface TestChainOptions {
  /** See AnvilOptions.mixedMining: for tests whose many worker processes send one signer's transactions out of nonce order. */
  mixedMining?: boolean;
  /** Seconds between blocks (no automine): a chain that behaves like a real one. */
  blockTime?: number;
  /** How many hookrail signers (1 to 3); all hold MINTER_ROLE. */
  signers?: number;
}

/**
 * anvil on a free port with the contracts deployed by a separate deployer account, which is
 * also the security token's admin (tests freeze addresses with it without touching the
 * signers' nonces, which belong to hookrail).
 */
export async function startTestChain(opts: TestChainOptions = {}): Promise<TestChain> {
  const anvil = await startAnvil({ mixedMining: opts.mixedMining, blockTime: opts.blockTime });
  const clients = createChainClients({ rpcUrl: anvil.url, chainId: 31337, privateKey: ANVIL_KEYS.deployer, pollingIntervalMs: 50 });
  const keys = [ANVIL_KEYS.signer, ...ANVIL_KEYS.extraSigners].slice(0, opts.signers ?? 1);
  const signers = keys.map((k) => privateKeyToAccount(k).address);
  const signer = signers[0]!;
  const deployment = await deployContracts(clients, { admin: signer, tokenAdmin: clients.account.address, minters: signers });
  return {
    anvil,
    deployment,
    clients,
    signer,
    signers,
    env: { RPC_URL: anvil.url, CHAIN_ID: "31337", SIGNER_PRIVATE_KEY: keys.join(","), CHAIN_POLL_INTERVAL_MS: "50" },
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

/**
 * Blocks made by the test on a chain with automine off: `mineOne` (with `baseFee`, when set,
 * as the next block's base fee: a fee spike), or a block every `everyMs` between `start` and
 * `stop`, like a fast chain.
 */
export function blockProducer(chain: TestChain, everyMs = 150) {
  let keepMining = false;
  let mining: Promise<void> | undefined;
  const producer = {
    baseFee: undefined as bigint | undefined,
    mineOne: async () => {
      if (producer.baseFee !== undefined) await chain.rpc("anvil_setNextBlockBaseFeePerGas", [`0x${producer.baseFee.toString(16)}`]);
      await chain.rpc("evm_mine", []);
    },
    start: () => {
      keepMining = true;
      mining = (async () => {
        while (keepMining) {
          await producer.mineOne();
          await new Promise((r) => setTimeout(r, everyMs));
        }
      })();
    },
    stop: async () => {
      keepMining = false;
      await mining;
    },
  };
  return producer;
}
