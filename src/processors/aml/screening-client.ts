import type { Registry } from "prom-client";
import { createBreaker, watchBreaker, type Breaker } from "../../clients/breaker.js";
import { createComplyAdvantageClient, type ScreeningResult, type ScreeningSubject } from "../../clients/complyadvantage.js";
import { ProviderError } from "../../clients/http-error.js";
import type { Config } from "../../config/index.js";

export interface ScreeningDeps {
  breaker: Breaker<[ScreeningSubject], ScreeningResult>;
}

/** The ComplyAdvantage client behind its breaker, or undefined when it is not configured. */
export function buildScreening(config: Config, registry: Registry): ScreeningDeps | undefined {
  if (!config.COMPLYADVANTAGE_API_URL || !config.COMPLYADVANTAGE_API_KEY) return undefined;
  const client = createComplyAdvantageClient({
    baseUrl: config.COMPLYADVANTAGE_API_URL,
    apiKey: config.COMPLYADVANTAGE_API_KEY,
    // The breaker's own timeout is the one that counts; this one only frees the socket.
    timeoutMs: config.COMPLYADVANTAGE_TIMEOUT_MS + 1_000,
  });
  const breaker = createBreaker(
    (s: ScreeningSubject) => client.search(s),
    {
      timeoutMs: config.COMPLYADVANTAGE_TIMEOUT_MS,
      errorThresholdPercentage: config.AML_BREAKER_ERROR_PERCENT,
      resetTimeoutMs: config.AML_BREAKER_RESET_MS,
      volumeThreshold: config.AML_BREAKER_VOLUME,
    },
    (err) => err instanceof ProviderError && !err.retryable,
  );
  watchBreaker(registry, "complyadvantage", breaker);
  return { breaker };
}
