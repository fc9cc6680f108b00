import {
  createPublicClient,
  createWalletClient,
  defineChain,
  http,
  type Chain as ViemChain,
  type Hex,
  type LocalAccount,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";

export interface ChainClientOptions {
  rpcUrl: string;
  chainId: number;
  privateKey: Hex;
  pollingIntervalMs?: number;
}

export interface ChainClients {
  chain: ViemChain;
  publicClient: PublicClient<Transport, ViemChain>;
  walletClient: WalletClient<Transport, ViemChain, LocalAccount>;
  account: LocalAccount;
}

export function chainDefinition(chainId: number, rpcUrl: string): ViemChain {
  return defineChain({
    id: chainId,
    name: `chain-${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
}

/** viem clients for one RPC endpoint and one local signing key (keys never leave this process). */
export function createChainClients(opts: ChainClientOptions): ChainClients {
  const chain = chainDefinition(opts.chainId, opts.rpcUrl);
  const transport = http(opts.rpcUrl, { retryCount: 2, timeout: 10_000 });
  const account = privateKeyToAccount(opts.privateKey);
  const pollingInterval = opts.pollingIntervalMs ?? 1_000;
  return {
    chain,
    account,
    // No block-number cache (viem keeps one for a polling interval by default): a record block
    // or a "has it been mined yet" check read from a stale cache points at the wrong block.
    publicClient: createPublicClient({ chain, transport, pollingInterval, cacheTime: 0 }),
    walletClient: createWalletClient({ chain, transport, account, pollingInterval }),
  };
}
