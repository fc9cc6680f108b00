import { getAddress } from "viem";
import { z } from "zod";
import { csvList, emptyToUndefined, intInRange, optionalUrl } from "./env.js";

const KEY = /^0x[0-9a-fA-F]{64}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** Chain ids of local development chains (anvil, hardhat/ganache): fee caps may default there. */
export const DEV_CHAIN_IDS: readonly number[] = [31337, 1337];

/** A non-negative integer amount of wei, as a bigint (never a float). */
const weiAmount = (what: string) =>
  z.preprocess(
    emptyToUndefined,
    z
      .string()
      .regex(/^[0-9]{1,78}$/, { error: `expected ${what} as a whole number of wei, like 100000000000` })
      .transform((v) => BigInt(v))
      .optional(),
  );

/** Settings of the chain feature (merged into the one config schema in ./index.ts). */
export const chainSchema = z.object({
  /** JSON-RPC endpoint of the EVM node. Absent: workers run without the mint processor (dev and tests start anvil). */
  RPC_URL: optionalUrl(["http", "https"], "http://127.0.0.1:8545"),
  CHAIN_ID: intInRange(1, 2 ** 31 - 1, 31337),
  /** Dev mode only: the port of the local anvil it starts when RPC_URL is unset (fixed, so wallets and scripts keep one URL); 0 = any free port. */
  DEV_CHAIN_PORT: intInRange(0, 65535, 8545),
  /**
   * The signer keys, comma-separated (one key is a list of one). New intents go to the signer
   * with the fewest transactions in flight; the first key is the treasury that pays dividends.
   */
  SIGNER_PRIVATE_KEY: csvList().pipe(
    z
      .array(z.string().regex(KEY, { error: "expected a comma-separated list of 0x followed by 64 hex digits" }))
      .refine((keys) => new Set(keys.map((k) => k.toLowerCase())).size === keys.length, { error: "the same key is listed twice" }),
  ),
  /** How often the chain monitor looks at the head, receipts and the pool. */
  CHAIN_POLL_INTERVAL_MS: intInRange(10, 60_000, 1_000),
  /** How long one attempt of a job that waits for its transaction (dividend payouts) waits before it retries. */
  CHAIN_RECEIPT_TIMEOUT_MS: intInRange(1_000, 3_600_000, 300_000),
  /** Blocks on top of (and including) a transaction's block before its effect counts: 1 = mined. */
  CHAIN_CONFIRMATIONS: intInRange(1, 1_000, 1),
  /** A transaction not mined within this many blocks of its broadcast is replaced with higher fees. */
  CHAIN_REPLACE_AFTER_BLOCKS: intInRange(1, 1_000, 3),
  /**
   * Who signs hookrail's transactions: `local` (the SIGNER_PRIVATE_KEY keys, nonces and fees
   * managed here) or `fireblocks` (each intent is a Fireblocks CONTRACT_CALL from
   * FIREBLOCKS_SIGNER_VAULT_ID; Fireblocks holds the key, picks nonce and fees, broadcasts).
   */
  SIGNER_BACKEND: z.preprocess(emptyToUndefined, z.enum(["local", "fireblocks"], { error: "expected local or fireblocks" }).default("local")),
  /** SIGNER_BACKEND=fireblocks: the vault account whose wallet signs (it needs the tokens' MINTER_ROLE and gas). */
  FIREBLOCKS_SIGNER_VAULT_ID: z.preprocess(emptyToUndefined, z.string().optional()),
  /** SIGNER_BACKEND=fireblocks: that wallet's address on the chain (checked against the vault before the first transaction). */
  FIREBLOCKS_SIGNER_ADDRESS: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .regex(ADDRESS, { error: "expected 0x followed by 40 hex digits" })
      // One spelling (the checksummed one) whatever case was configured: rows are matched by it.
      .transform((v) => getAddress(v))
      .optional(),
  ),
  /**
   * SIGNER_BACKEND=fireblocks: Fireblocks' id of the chain's native asset, which pays the gas
   * (ETH, ETH_TEST5, MATIC_POLYGON, ...). Defaults to ETH only on mainnet and local chains: a
   * wrong one would run the call on another network than the one we simulate and read.
   */
  FIREBLOCKS_SIGNER_ASSET_ID: z.preprocess(emptyToUndefined, z.string().optional()),
  /** SIGNER_BACKEND=fireblocks: a transaction whose status was not heard of (webhook or lookup) for this long is looked up by externalTxId. */
  FIREBLOCKS_STATUS_POLL_MS: intInRange(100, 3_600_000, 30_000),
  /** The most any version of a transaction may bid per gas (wei). Required on a non-dev chain. */
  CHAIN_MAX_FEE_PER_GAS: weiAmount("CHAIN_MAX_FEE_PER_GAS"),
  /** `hookrail_signer_balance_wei` under this fires the SignerBalanceLow alert (wei; default 0.1 ether). */
  SIGNER_MIN_BALANCE_WEI: weiAmount("SIGNER_MIN_BALANCE_WEI"),
  /** Orders of one token that become due within this window are minted in one `batchMint` transaction. */
  MINT_BATCH_WINDOW_MS: intInRange(0, 60_000, 250),
  /** The most orders in one `batchMint` transaction (also the mints queue's concurrency per worker process). */
  MINT_BATCH_SIZE: intInRange(1, 1_000, 200),
});

export const DEFAULT_FIREBLOCKS_SIGNER_ASSET_ID = "ETH";

/** Default fee cap on a dev chain: 1,000 gwei. */
export const DEV_MAX_FEE_PER_GAS = 1_000_000_000_000n;
export const DEFAULT_MIN_SIGNER_BALANCE_WEI = 100_000_000_000_000_000n;

/** Problems no single field shows (the Fireblocks API settings come from ./custody.ts). */
export function chainConfigProblems(c: z.output<typeof chainSchema> & { FIREBLOCKS_API_KEY?: string | undefined }): string[] {
  const problems: string[] = [];
  if (c.SIGNER_BACKEND === "fireblocks") {
    if (!c.RPC_URL) problems.push("RPC_URL: required with SIGNER_BACKEND=fireblocks (calls are simulated and receipts read from a node)");
    if (!c.FIREBLOCKS_API_KEY) problems.push("FIREBLOCKS_API_URL, FIREBLOCKS_API_KEY, FIREBLOCKS_API_SECRET_KEY: required with SIGNER_BACKEND=fireblocks");
    if (!c.FIREBLOCKS_SIGNER_VAULT_ID) problems.push("FIREBLOCKS_SIGNER_VAULT_ID: required with SIGNER_BACKEND=fireblocks");
    if (!c.FIREBLOCKS_SIGNER_ADDRESS)
      problems.push("FIREBLOCKS_SIGNER_ADDRESS: required with SIGNER_BACKEND=fireblocks (the signer vault's address on the chain)");
    if (!c.FIREBLOCKS_SIGNER_ASSET_ID && c.CHAIN_ID !== 1 && !DEV_CHAIN_IDS.includes(c.CHAIN_ID)) {
      problems.push(`FIREBLOCKS_SIGNER_ASSET_ID: required on chain ${c.CHAIN_ID} (Fireblocks' id of its native asset; ETH is only mainnet's)`);
    }
    // A key here would be a second, silent signer nobody watches.
    if (c.SIGNER_PRIVATE_KEY.length > 0) problems.push("SIGNER_PRIVATE_KEY: not used with SIGNER_BACKEND=fireblocks (Fireblocks holds the key); unset it");
  } else if (c.RPC_URL && c.SIGNER_PRIVATE_KEY.length === 0) problems.push("SIGNER_PRIVATE_KEY: required when RPC_URL is set");
  if (c.RPC_URL && c.CHAIN_MAX_FEE_PER_GAS === undefined && !DEV_CHAIN_IDS.includes(c.CHAIN_ID)) {
    problems.push(`CHAIN_MAX_FEE_PER_GAS: required on chain ${c.CHAIN_ID} (only local chains ${DEV_CHAIN_IDS.join(", ")} have a default)`);
  }
  return problems;
}
