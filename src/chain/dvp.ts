import { encodeFunctionData, keccak256, toBytes, zeroAddress, type Address, type Hex } from "viem";
import { dvPAbi } from "./artifacts/DvP.js";
import { stablecoinAbi } from "./artifacts/Stablecoin.js";

/**
 * The DvP contract's ABI plus the custom errors of the ERC-20 tokens it calls (ERC-6093:
 * insufficient allowance or balance), so a settlement that reverts inside a token decodes to
 * a reason a person can read.
 */
export const dvpAbi = [...dvPAbi, ...stablecoinAbi.filter((item) => item.type === "error")] as const;

/** One delivery versus payment, as the contract's `settle` takes it. */
export interface Settlement {
  settlementId: Hex;
  buyer: Address;
  cashToken: Address;
  cashAmount: bigint;
  cashReceiver: Address;
  securityToken: Address;
  tokenAmount: bigint;
  /** Unset: primary issuance (the contract mints). */
  seller?: Address;
}

/** The on-chain id of an order's settlement: the same for every attempt, so the chain settles the order at most once. */
export const settlementIdOf = (referenceId: string): Hex => keccak256(toBytes(`hookrail:dvp:${referenceId}`));

/** Calldata of `settle(...)`. */
export function settleCalldata(s: Settlement): Hex {
  return encodeFunctionData({
    abi: dvpAbi,
    functionName: "settle",
    args: [s.settlementId, s.buyer, s.cashToken, s.cashAmount, s.cashReceiver, s.securityToken, s.tokenAmount, s.seller ?? zeroAddress],
  });
}
