import type { PublicClient } from "viem";

/** An EIP-1559 bid: the most paid per gas in all, and the part of it offered to the block producer. */
export interface FeeBid {
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

/** What the chain asks now: the latest block's base fee and the node's suggested tip. */
export interface MarketFees {
  baseFeePerGas: bigint;
  priorityFeePerGas: bigint;
}

/** Read the market from the node: one block header and one tip suggestion. */
export async function readMarketFees(publicClient: PublicClient): Promise<MarketFees> {
  const [block, tip] = await Promise.all([publicClient.getBlock({ blockTag: "latest" }), publicClient.estimateMaxPriorityFeePerGas()]);
  return { baseFeePerGas: block.baseFeePerGas ?? 0n, priorityFeePerGas: tip };
}

/**
 * The bid for a new transaction: twice the current base fee plus the tip, so it stays
 * includable through several full blocks (the base fee rises at most 12.5% a block), never
 * above `cap`. A bid at the cap may still be too low; the monitor then reports it stuck.
 */
export function initialBid(market: MarketFees, cap: bigint): FeeBid {
  const maxFeePerGas = min(2n * market.baseFeePerGas + market.priorityFeePerGas, cap);
  return { maxFeePerGas, maxPriorityFeePerGas: min(market.priorityFeePerGas, maxFeePerGas) };
}

/** Nodes accept a replacement only if both fees rise by a margin (geth: 10%); 12.5% clears every common pool. */
const BUMP_NUM = 1125n;
const BUMP_DEN = 1000n;
const bumped = (v: bigint) => (v * BUMP_NUM + BUMP_DEN - 1n) / BUMP_DEN;

/**
 * The bid that replaces `previous`: both fees at least 12.5% above it and at least what the
 * market asks now, never above `cap`. Undefined when the cap leaves no room for a valid
 * replacement (the previous bid is at or near the cap): the transaction can only wait.
 */
export function replacementBid(previous: FeeBid, market: MarketFees, cap: bigint): FeeBid | undefined {
  const tip = max(bumped(previous.maxPriorityFeePerGas), market.priorityFeePerGas);
  const wanted = max(bumped(previous.maxFeePerGas), 2n * market.baseFeePerGas + tip);
  const maxFeePerGas = min(wanted, cap);
  if (maxFeePerGas < bumped(previous.maxFeePerGas)) return undefined;
  const maxPriorityFeePerGas = min(tip, maxFeePerGas);
  if (maxPriorityFeePerGas < bumped(previous.maxPriorityFeePerGas)) return undefined;
  return { maxFeePerGas, maxPriorityFeePerGas };
}

const min = (a: bigint, b: bigint) => (a < b ? a : b);
const max = (a: bigint, b: bigint) => (a > b ? a : b);
