import type { Registry } from "prom-client";
import type { JumioClient } from "../jumio.js";
import type { OnfidoClient } from "../onfido.js";
import type { KycAdapter, KycAdapters } from "./adapter.js";
import { behindBreaker } from "./circuit.js";
import { createJumioAdapter } from "./jumio.js";
import { createOnfidoAdapter } from "./onfido.js";
import { createSumsubAdapter } from "./sumsub.js";
import { createTruliooAdapter } from "./trulioo.js";

export type { KycAdapter, KycAdapters, KycApplicantInput, KycProgress, KycStatusRef, KycSubmission, KycSubmitContext, KycVerdict } from "./adapter.js";

interface KycAdapterConfig {
  SUMSUB_API_URL?: string;
  SUMSUB_APP_TOKEN?: string;
  SUMSUB_SECRET_KEY?: string;
  SUMSUB_LEVEL_NAME: string;
  SUMSUB_LINK_TTL_SECONDS: number;
  ONFIDO_WORKFLOW_ID?: string;
  JUMIO_ACCOUNT_URL?: string;
  JUMIO_WORKFLOW_KEY: number;
  JUMIO_LINK_LIFETIME: number;
  TRULIOO_TOKEN_URL?: string;
  TRULIOO_API_URL?: string;
  TRULIOO_CLIENT_ID?: string;
  TRULIOO_CLIENT_SECRET?: string;
  TRULIOO_CONFIGURATION_NAME: string;
  KYC_PROVIDER_TIMEOUT_MS: number;
  KYC_BREAKER_ERROR_PERCENT: number;
  KYC_BREAKER_RESET_MS: number;
  KYC_BREAKER_VOLUME: number;
}

/**
 * The outbound adapters whose settings are present. A provider without one is off for
 * outbound: its kyc-applications jobs are dead-lettered with a message naming the settings, to
 * be replayed once it is configured. The Onfido and Jumio adapters share the webhook
 * processors' clients (one token cache per provider).
 */
export function buildKycAdapters(config: KycAdapterConfig, registry?: Registry, clients: { onfido?: OnfidoClient; jumio?: JumioClient } = {}): KycAdapters {
  const adapters: KycAdapters = {};
  const breaker = {
    // A submission is up to four requests; the breaker's timeout is the last resort above theirs.
    timeoutMs: 4 * config.KYC_PROVIDER_TIMEOUT_MS + 1_000,
    errorThresholdPercentage: config.KYC_BREAKER_ERROR_PERCENT,
    resetTimeoutMs: config.KYC_BREAKER_RESET_MS,
    volumeThreshold: config.KYC_BREAKER_VOLUME,
  };
  const add = (adapter: KycAdapter) => (adapters[adapter.provider] = behindBreaker(adapter, breaker, registry));
  if (config.SUMSUB_API_URL && config.SUMSUB_APP_TOKEN && config.SUMSUB_SECRET_KEY) {
    add(
      createSumsubAdapter({
        baseUrl: config.SUMSUB_API_URL,
        appToken: config.SUMSUB_APP_TOKEN,
        secretKey: config.SUMSUB_SECRET_KEY,
        levelName: config.SUMSUB_LEVEL_NAME,
        linkTtlSeconds: config.SUMSUB_LINK_TTL_SECONDS,
        timeoutMs: config.KYC_PROVIDER_TIMEOUT_MS,
      }),
    );
  }
  if (clients.onfido && config.ONFIDO_WORKFLOW_ID) add(createOnfidoAdapter(clients.onfido, { workflowId: config.ONFIDO_WORKFLOW_ID }));
  if (clients.jumio && config.JUMIO_ACCOUNT_URL)
    add(createJumioAdapter(clients.jumio, { workflowKey: config.JUMIO_WORKFLOW_KEY, linkLifetimeMs: config.JUMIO_LINK_LIFETIME }));
  if (config.TRULIOO_TOKEN_URL && config.TRULIOO_API_URL && config.TRULIOO_CLIENT_ID && config.TRULIOO_CLIENT_SECRET) {
    add(
      createTruliooAdapter({
        tokenUrl: config.TRULIOO_TOKEN_URL,
        apiUrl: config.TRULIOO_API_URL,
        clientId: config.TRULIOO_CLIENT_ID,
        clientSecret: config.TRULIOO_CLIENT_SECRET,
        configurationName: config.TRULIOO_CONFIGURATION_NAME,
        timeoutMs: config.KYC_PROVIDER_TIMEOUT_MS,
      }),
    );
  }
  return adapters;
}
