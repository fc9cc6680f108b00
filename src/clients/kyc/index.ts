import type { Registry } from "prom-client";
import type { KycAdapters } from "./adapter.js";
import { behindBreaker } from "./circuit.js";
import { createSumsubAdapter } from "./sumsub.js";

export type { KycAdapter, KycAdapters, KycApplicantInput, KycSubmission, KycVerdict } from "./adapter.js";

interface KycAdapterConfig {
  SUMSUB_API_URL?: string;
  SUMSUB_APP_TOKEN?: string;
  SUMSUB_SECRET_KEY?: string;
  SUMSUB_LEVEL_NAME: string;
  SUMSUB_LINK_TTL_SECONDS: number;
  KYC_PROVIDER_TIMEOUT_MS: number;
  KYC_BREAKER_ERROR_PERCENT: number;
  KYC_BREAKER_RESET_MS: number;
  KYC_BREAKER_VOLUME: number;
}

/**
 * The outbound adapters whose settings are present. A provider without one is off for
 * outbound: its kyc-applications jobs are dead-lettered with a message naming the settings, to
 * be replayed once it is configured.
 */
export function buildKycAdapters(config: KycAdapterConfig, registry?: Registry): KycAdapters {
  const adapters: KycAdapters = {};
  const breaker = {
    // A submission is up to three requests; the breaker's timeout is the last resort above theirs.
    timeoutMs: 3 * config.KYC_PROVIDER_TIMEOUT_MS + 1_000,
    errorThresholdPercentage: config.KYC_BREAKER_ERROR_PERCENT,
    resetTimeoutMs: config.KYC_BREAKER_RESET_MS,
    volumeThreshold: config.KYC_BREAKER_VOLUME,
  };
  if (config.SUMSUB_API_URL && config.SUMSUB_APP_TOKEN && config.SUMSUB_SECRET_KEY) {
    const sumsub = createSumsubAdapter({
      baseUrl: config.SUMSUB_API_URL,
      appToken: config.SUMSUB_APP_TOKEN,
      secretKey: config.SUMSUB_SECRET_KEY,
      levelName: config.SUMSUB_LEVEL_NAME,
      linkTtlSeconds: config.SUMSUB_LINK_TTL_SECONDS,
      timeoutMs: config.KYC_PROVIDER_TIMEOUT_MS,
    });
    adapters.sumsub = behindBreaker(sumsub, breaker, registry);
  }
  return adapters;
}
