import { z } from "zod";
import { intInRange, optionalString, optionalUrl } from "./env.js";

/** Settings of the chain feature (merged into the one config schema in ./index.ts). */
export const chainSchema = z.object({
  /** JSON-RPC endpoint of the EVM node. Absent: workers run without the mint processor (dev and tests start anvil). */
  RPC_URL: optionalUrl(["http", "https"], "http://127.0.0.1:8545"),
  CHAIN_ID: intInRange(1, 2 ** 31 - 1, 31337),
  /** Dev mode only: the port of the local anvil it starts when RPC_URL is unset (fixed, so wallets and scripts keep one URL); 0 = any free port. */
  DEV_CHAIN_PORT: intInRange(0, 65535, 8545),
  /** The minter / treasury key. Required when RPC_URL is set. */
  SIGNER_PRIVATE_KEY: optionalString().pipe(
    z
      .string()
      .regex(/^0x[0-9a-fA-F]{64}$/, { error: "expected 0x followed by 64 hex digits" })
      .optional(),
  ),
  /** How often receipts are polled while a transaction waits to be mined. */
  CHAIN_POLL_INTERVAL_MS: intInRange(10, 60_000, 1_000),
  /** How long one attempt waits for a receipt before the job retries (rebroadcasting the stored transaction). */
  CHAIN_RECEIPT_TIMEOUT_MS: intInRange(1_000, 600_000, 60_000),
});
