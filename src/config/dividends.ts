import { z } from "zod";
import { addressString } from "../validation/fields.js";
import { cronPattern, intInRange, optionalString, optionalUrl } from "./env.js";

/** Settings of the dividends feature: the due scheduler, payouts and the registrar. */
export const dividendsSchema = z.object({
  DIVIDEND_DUE_CRON: cronPattern("* * * * *"),
  REGISTRAR_API_URL: optionalUrl(["http", "https"], "https://registrar.example.com/corporate-actions"),
  REGISTRAR_API_KEY: optionalString(),
  REGISTRAR_TIMEOUT_MS: intInRange(100, 120_000, 10_000),
  /** Our BatchTransfer contract: payouts go through it in batches; unset = one transfer per holder. */
  DIVIDEND_BATCH_CONTRACT: optionalString().pipe(addressString().optional()),
  DIVIDEND_BATCH_SIZE: intInRange(1, 1_000, 250),
  DIVIDEND_PAYOUT_CONCURRENCY: intInRange(1, 64, 4),
  DIVIDEND_LOG_CHUNK_BLOCKS: intInRange(1, 1_000_000, 10_000),
});
