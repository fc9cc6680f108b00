import { erc20Abi, parseAbiItem, zeroAddress, type Address, type PublicClient } from "viem";
import type { HolderBalance } from "./amounts.js";

const TRANSFER = parseAbiItem("event Transfer(address indexed from, address indexed to, uint256 value)");

export interface SnapshotOptions {
  publicClient: Pick<PublicClient, "getLogs" | "readContract">;
  token: Address;
  recordBlock: bigint;
  /** First block to scan (the token's deployment block, when known). */
  fromBlock?: bigint;
  /** Blocks per getLogs call: nodes cap the range or the result size of one call. */
  chunkBlocks: bigint;
  /** balanceOf calls in flight at once. */
  concurrency?: number;
}

/**
 * Every address that ever received the token up to `recordBlock` (from its Transfer logs)
 * could hold it then; its `balanceOf` at that very block says how much. Reading state at the
 * record block, not the head, is what makes a transfer after the record block irrelevant.
 * Holders are returned in address order (lower case) with non-zero balances only.
 */
export async function snapshotHolders(opts: SnapshotOptions): Promise<HolderBalance[]> {
  const { publicClient, token, recordBlock } = opts;
  const candidates = new Set<string>();
  for (let from = opts.fromBlock ?? 0n; from <= recordBlock; from += opts.chunkBlocks) {
    const to = from + opts.chunkBlocks - 1n < recordBlock ? from + opts.chunkBlocks - 1n : recordBlock;
    const logs = await publicClient.getLogs({ address: token, event: TRANSFER, fromBlock: from, toBlock: to, strict: true });
    for (const log of logs) if (log.args.to !== zeroAddress) candidates.add(log.args.to.toLowerCase());
  }
  const holders = [...candidates].sort();
  const balances = new Array<bigint>(holders.length);
  let next = 0;
  const worker = async () => {
    while (next < holders.length) {
      const i = next++;
      balances[i] = await publicClient.readContract({
        address: token,
        abi: erc20Abi,
        functionName: "balanceOf",
        args: [holders[i] as Address],
        blockNumber: recordBlock,
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 32, holders.length) }, worker));
  return holders.map((holder, i) => ({ holder, balance: balances[i]! })).filter((h) => h.balance > 0n);
}
