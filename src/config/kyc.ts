import { z } from "zod";
import { intInRange, optionalString, optionalUrl } from "./env.js";

/** Settings of the KYC providers' APIs that processors call (their webhook secrets are in ./webhooks.ts). */
export const kycSchema = z.object({
  /** Onfido API base, e.g. https://api.eu.onfido.com (the client adds /v3.6). */
  ONFIDO_API_URL: optionalUrl(["https", "http"], "https://api.eu.onfido.com"),
  ONFIDO_API_TOKEN: optionalString(),
  /** Jumio OAuth2 token endpoint, e.g. https://auth.amer-1.jumio.ai/oauth2/token. */
  JUMIO_TOKEN_URL: optionalUrl(["https", "http"], "https://auth.amer-1.jumio.ai/oauth2/token"),
  /** Jumio retrieval API base, e.g. https://retrieval.amer-1.jumio.ai. */
  JUMIO_API_URL: optionalUrl(["https", "http"], "https://retrieval.amer-1.jumio.ai"),
  JUMIO_CLIENT_ID: optionalString(),
  JUMIO_CLIENT_SECRET: optionalString(),
  /** One KYC provider API request slower than this fails (and the job retries). */
  KYC_PROVIDER_TIMEOUT_MS: intInRange(100, 120_000, 10_000),
});

type KycSettings = z.output<typeof kycSchema> & { JUMIO_CALLBACK_CREDENTIALS?: string; JUMIO_IP_ALLOWLIST: string[] };

const JUMIO_API = ["JUMIO_TOKEN_URL", "JUMIO_API_URL", "JUMIO_CLIENT_ID", "JUMIO_CLIENT_SECRET"] as const;
const ONFIDO_API = ["ONFIDO_API_URL", "ONFIDO_API_TOKEN"] as const;

/**
 * Problems no single field shows. Jumio callbacks are unsigned, so a deployment that configured
 * Jumio in any way but left its allowlist empty would accept callbacks from anyone who learned
 * the credentials: refuse to start instead. A half-configured API would leave its jobs waiting
 * forever with no word why.
 */
export function kycConfigProblems(c: KycSettings): string[] {
  const problems: string[] = [];
  const jumioSet = [...JUMIO_API, "JUMIO_CALLBACK_CREDENTIALS" as const].filter((k) => c[k] !== undefined);
  if (jumioSet.length > 0 && c.JUMIO_IP_ALLOWLIST.length === 0) {
    problems.push(`JUMIO_IP_ALLOWLIST: required when ${jumioSet.join(", ")} ${jumioSet.length === 1 ? "is" : "are"} set (Jumio callbacks carry no signature)`);
  }
  for (const group of [JUMIO_API, ONFIDO_API]) {
    const missing = group.filter((k) => c[k] === undefined);
    if (missing.length > 0 && missing.length < group.length)
      problems.push(`${missing.join(", ")}: required together with ${group.filter((k) => !missing.includes(k)).join(", ")}`);
  }
  return problems;
}
