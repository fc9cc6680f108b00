import { createPublicClient, erc20Abi, getAddress, http, type Address, type PublicClient } from "viem";
import type { Config } from "../config/index.js";
import { chainDefinition } from "./clients.js";

/**
 * The stablecoins orders may be paid in (`STABLECOIN_TOKENS`), with their decimals read on
 * chain once per token and process (a token's decimals never change).
 */
export class Stablecoins {
  private readonly allowed: Set<Address>;
  private readonly decimalsOf = new Map<Address, Promise<number>>();

  constructor(
    tokens: readonly string[],
    private readonly publicClient: PublicClient | undefined,
  ) {
    this.allowed = new Set(tokens.map((t) => getAddress(t)));
  }

  get tokens(): Address[] {
    return [...this.allowed];
  }

  isAllowed(token: string): boolean {
    return this.allowed.has(getAddress(token));
  }

  /** The token's decimals; throws for a token that is not allowed or when the chain cannot be read (not cached then). */
  decimals(token: Address): Promise<number> {
    const address = getAddress(token);
    if (!this.allowed.has(address)) return Promise.reject(new Error(`${address} is not one of STABLECOIN_TOKENS`));
    const client = this.publicClient;
    if (!client) return Promise.reject(new Error("no RPC_URL: stablecoin decimals cannot be read"));
    let p = this.decimalsOf.get(address);
    if (!p) {
      p = client.readContract({ address, abi: erc20Abi, functionName: "decimals" });
      this.decimalsOf.set(address, p);
      p.catch(() => this.decimalsOf.delete(address));
    }
    return p;
  }
}

/** The allowed stablecoins from config, read through their own client (the web process has no signer); undefined without STABLECOIN_TOKENS. */
export function buildStablecoins(config: Pick<Config, "RPC_URL" | "CHAIN_ID" | "STABLECOIN_TOKENS">): Stablecoins | undefined {
  if (config.STABLECOIN_TOKENS.length === 0) return undefined;
  const client = config.RPC_URL
    ? createPublicClient({ chain: chainDefinition(config.CHAIN_ID, config.RPC_URL), transport: http(config.RPC_URL, { retryCount: 2, timeout: 10_000 }) })
    : undefined;
  return new Stablecoins(config.STABLECOIN_TOKENS, client as PublicClient | undefined);
}
