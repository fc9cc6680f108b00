import { z } from "zod";
import { cronPattern, intInRange, optionalString, optionalUrl } from "./env.js";

/** Settings of the AML feature: the monthly rescreen, ComplyAdvantage and its breaker. */
export const amlSchema = z.object({
  AML_RESCREEN_CRON: cronPattern("0 3 1 * *"),
  AML_RATE_LIMIT_PER_SECOND: intInRange(1, 10_000, 10),
  COMPLYADVANTAGE_API_URL: optionalUrl(["http", "https"], "https://api.complyadvantage.com"),
  COMPLYADVANTAGE_API_KEY: optionalString(),
  COMPLYADVANTAGE_TIMEOUT_MS: intInRange(100, 120_000, 10_000),
  AML_BREAKER_ERROR_PERCENT: intInRange(1, 100, 50),
  AML_BREAKER_RESET_MS: intInRange(100, 3_600_000, 60_000),
  AML_BREAKER_VOLUME: intInRange(1, 1000, 5),
});
