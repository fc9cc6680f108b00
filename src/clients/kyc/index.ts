import type { KycAdapters } from "./adapter.js";
import { createSumsubAdapter } from "./sumsub.js";

export type { KycAdapter, KycAdapters, KycApplicantInput, KycSubmission, KycVerdict } from "./adapter.js";

interface KycAdapterConfig {
  SUMSUB_API_URL?: string;
  SUMSUB_APP_TOKEN?: string;
  SUMSUB_SECRET_KEY?: string;
  SUMSUB_LEVEL_NAME: string;
  SUMSUB_LINK_TTL_SECONDS: number;
  KYC_PROVIDER_TIMEOUT_MS: number;
}

/**
 * The outbound adapters whose settings are present. A provider without one is off for
 * outbound: its kyc-applications jobs are dead-lettered with a message naming the settings, to
 * be replayed once it is configured.
 */
export function buildKycAdapters(config: KycAdapterConfig): KycAdapters {
  const adapters: KycAdapters = {};
  if (config.SUMSUB_API_URL && config.SUMSUB_APP_TOKEN && config.SUMSUB_SECRET_KEY) {
    adapters.sumsub = createSumsubAdapter({
      baseUrl: config.SUMSUB_API_URL,
      appToken: config.SUMSUB_APP_TOKEN,
      secretKey: config.SUMSUB_SECRET_KEY,
      levelName: config.SUMSUB_LEVEL_NAME,
      linkTtlSeconds: config.SUMSUB_LINK_TTL_SECONDS,
      timeoutMs: config.KYC_PROVIDER_TIMEOUT_MS,
    });
  }
  return adapters;
}
