import { CronExpressionParser } from "cron-parser";
import { getAddress, isAddress } from "viem";
import { z } from "zod";
import { intInRange, optionalString, stringWithDefault, urlString } from "./env.js";

// BullMQ parses scheduler patterns with cron-parser; validating with the same parser means
// a pattern that passes here is one BullMQ will run. A leading seconds field is allowed.
const cronPattern = (def: string) =>
  stringWithDefault(def).pipe(
    z.string().refine(
      (v) => {
        try {
          CronExpressionParser.parse(v, { tz: "UTC" });
          return v.trim().split(/\s+/).length >= 5;
        } catch {
          return false;
        }
      },
      { error: 'expected a cron pattern like "0 3 1 * *" (minute hour day month weekday, optional leading seconds)' },
    ),
  );

const optionalUrl = () =>
  z.preprocess((v) => (typeof v === "string" && v.trim() === "" ? undefined : v), urlString(["http", "https"], "https://api.example.com").optional());

export const schedulesSchema = z.object({
  AML_RESCREEN_CRON: cronPattern("0 3 1 * *"),
  AML_RATE_LIMIT_PER_SECOND: intInRange(1, 10_000, 10),
  COMPLYADVANTAGE_API_URL: optionalUrl(),
  COMPLYADVANTAGE_API_KEY: optionalString(),
  COMPLYADVANTAGE_TIMEOUT_MS: intInRange(100, 120_000, 10_000),
  AML_BREAKER_ERROR_PERCENT: intInRange(1, 100, 50),
  AML_BREAKER_RESET_MS: intInRange(100, 3_600_000, 60_000),
  AML_BREAKER_VOLUME: intInRange(1, 1000, 5),
  DIVIDEND_DUE_CRON: cronPattern("* * * * *"),
  REGISTRAR_API_URL: optionalUrl(),
  REGISTRAR_API_KEY: optionalString(),
  REGISTRAR_TIMEOUT_MS: intInRange(100, 120_000, 10_000),
  /** Our BatchTransfer contract: payouts go through it in batches; unset = one transfer per holder. */
  DIVIDEND_BATCH_CONTRACT: optionalString().pipe(
    z
      .string()
      .refine((v) => isAddress(v, { strict: false }), { error: "expected a 0x-prefixed 20-byte hex address" })
      .transform((v) => getAddress(v))
      .optional(),
  ),
  DIVIDEND_BATCH_SIZE: intInRange(1, 1_000, 250),
  DIVIDEND_PAYOUT_CONCURRENCY: intInRange(1, 64, 4),
  DIVIDEND_LOG_CHUNK_BLOCKS: intInRange(1, 1_000_000, 10_000),
});
