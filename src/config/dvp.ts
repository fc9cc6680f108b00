import { z } from "zod";
import { addressString } from "../validation/fields.js";
import { csvList, intInRange, optionalString } from "./env.js";

/** Settings of the stablecoin rail (delivery versus payment through the DvP contract). */
export const dvpSchema = z.object({
  /** The stablecoins orders may be paid in (their decimals are read on chain). Empty: no stablecoin rail. */
  STABLECOIN_TOKENS: csvList().pipe(z.array(addressString()).refine((list) => new Set(list).size === list.length, { error: "the same token is listed twice" })),
  /** Our DvP contract: buyers approve it, hookrail's signers settle through it. */
  DVP_CONTRACT: optionalString().pipe(addressString().optional()),
  /** Receives the cash of primary issuance (secondary trades pay the seller); default the treasury signer. */
  DVP_CASH_RECEIVER: optionalString().pipe(addressString().optional()),
  /** Where the Approval watcher starts reading when it has no cursor yet; default the confirmed head at its first pass. */
  DVP_START_BLOCK: z.preprocess((v) => (v === "" ? undefined : v), z.coerce.bigint({ error: "expected a block number" }).nonnegative().optional()),
  /** How often the watcher reads new Approval logs and re-checks waiting orders. */
  DVP_WATCH_INTERVAL_MS: intInRange(10, 600_000, 2_000),
  /** The most blocks one `eth_getLogs` call of the watcher covers. */
  DVP_LOG_CHUNK_BLOCKS: intInRange(1, 1_000_000, 2_000),
});

/** Problems no single field shows. */
export function dvpConfigProblems(c: z.output<typeof dvpSchema> & { RPC_URL?: string | undefined }): string[] {
  const problems: string[] = [];
  if (c.STABLECOIN_TOKENS.length > 0 && !c.DVP_CONTRACT) problems.push("DVP_CONTRACT: required when STABLECOIN_TOKENS is set");
  if (c.STABLECOIN_TOKENS.length > 0 && !c.RPC_URL)
    problems.push("RPC_URL: required when STABLECOIN_TOKENS is set (decimals and allowances are read on chain)");
  return problems;
}
