import { z } from "zod";
import { cronPattern, emptyToUndefined, intInRange, optionalString, optionalUrl, stringWithDefault } from "./env.js";

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A duration: bare milliseconds (`7200000`) or a number with one unit (`90m`, `2h`, `1d`).
 * Bounded so a typo (`2` meaning hours) cannot make the reconciliation poll every investor on
 * every run, nor never.
 */
export const duration = (def: string, minMs: number, maxMs: number) =>
  z.preprocess(
    emptyToUndefined,
    z
      .string()
      .default(def)
      .transform((v, ctx) => {
        const m = /^\s*(\d+)\s*(ms|s|m|h|d)?\s*$/.exec(v);
        const ms = m ? Number(m[1]) * DURATION_UNITS[m[2] ?? "ms"]! : Number.NaN;
        if (!Number.isSafeInteger(ms) || ms < minMs || ms > maxMs) {
          ctx.addIssue({
            code: "custom",
            message: `expected milliseconds or a duration like "2h", "90m", "1d", from ${minMs / 60_000} minutes to ${maxMs / 86_400_000} days`,
          });
          return z.NEVER;
        }
        return ms;
      }),
  );

/** Settings of the KYC providers' APIs that processors call (their webhook secrets are in ./webhooks.ts). */
export const kycSchema = z.object({
  /** Sumsub API base (https://api.sumsub.com); requests are signed with the app token's secret key. */
  SUMSUB_API_URL: optionalUrl(["https", "http"], "https://api.sumsub.com"),
  SUMSUB_APP_TOKEN: optionalString(),
  SUMSUB_SECRET_KEY: optionalString(),
  /** The Sumsub verification level new applicants are created at (case-sensitive, as in the dashboard). */
  SUMSUB_LEVEL_NAME: stringWithDefault("basic-kyc-level"),
  /** Lifetime of the WebSDK link handed to the investor. */
  SUMSUB_LINK_TTL_SECONDS: intInRange(60, 30 * 86_400, 7 * 86_400),
  /** How often the reconciliation asks providers about verifications still open. */
  KYC_RECONCILE_CRON: cronPattern("0 * * * *"),
  /** A verification open (pending / in review) for longer than this is polled. */
  KYC_RECONCILE_AFTER: duration("2h", 60_000, 30 * 86_400_000),
  /** Onfido API base, e.g. https://api.eu.onfido.com (the client adds /v3.6). */
  ONFIDO_API_URL: optionalUrl(["https", "http"], "https://api.eu.onfido.com"),
  ONFIDO_API_TOKEN: optionalString(),
  /** The Onfido Studio workflow new investors run (its id in the dashboard); with the API settings, Onfido is on for outbound. */
  ONFIDO_WORKFLOW_ID: optionalString(),
  /** Jumio OAuth2 token endpoint, e.g. https://auth.amer-1.jumio.ai/oauth2/token. */
  JUMIO_TOKEN_URL: optionalUrl(["https", "http"], "https://auth.amer-1.jumio.ai/oauth2/token"),
  /** Jumio retrieval API base, e.g. https://retrieval.amer-1.jumio.ai. */
  JUMIO_API_URL: optionalUrl(["https", "http"], "https://retrieval.amer-1.jumio.ai"),
  JUMIO_CLIENT_ID: optionalString(),
  JUMIO_CLIENT_SECRET: optionalString(),
  /** Jumio account API base, e.g. https://account.amer-1.jumio.ai; with the API settings, Jumio is on for outbound. */
  JUMIO_ACCOUNT_URL: optionalUrl(["https", "http"], "https://account.amer-1.jumio.ai"),
  /** The Jumio workflow definition key accounts are created with (10011: ID and identity verification). */
  JUMIO_WORKFLOW_KEY: intInRange(1, 1_000_000_000, 10011),
  /** How long the web client link handed to the investor stays valid (Jumio's tokenLifetime: 5 minutes to 60 days; its default is 30 minutes). */
  JUMIO_LINK_LIFETIME: duration("7d", 5 * 60_000, 60 * 86_400_000),
  /** Trulioo OAuth2 token endpoint, https://auth-api.trulioo.com/connect/token. */
  TRULIOO_TOKEN_URL: optionalUrl(["https", "http"], "https://auth-api.trulioo.com/connect/token"),
  /** Trulioo Platform API base (regional), e.g. https://api.trulioo.com; the client adds /v3/verifications. */
  TRULIOO_API_URL: optionalUrl(["https", "http"], "https://api.trulioo.com"),
  TRULIOO_CLIENT_ID: optionalString(),
  TRULIOO_CLIENT_SECRET: optionalString(),
  /** The Trulioo package (configuration name) Verify runs. */
  TRULIOO_CONFIGURATION_NAME: stringWithDefault("Identity Verification"),
  /** One KYC provider API request slower than this fails (and the job retries). */
  KYC_PROVIDER_TIMEOUT_MS: intInRange(100, 120_000, 10_000),
  /** The outbound adapters' breaker (one per provider): error rate that opens it, how long it stays open, calls before it can. */
  KYC_BREAKER_ERROR_PERCENT: intInRange(1, 100, 50),
  KYC_BREAKER_RESET_MS: intInRange(100, 3_600_000, 60_000),
  KYC_BREAKER_VOLUME: intInRange(1, 1000, 5),
});

type KycSettings = z.output<typeof kycSchema> & { JUMIO_CALLBACK_CREDENTIALS?: string; JUMIO_IP_ALLOWLIST: string[] };

const JUMIO_API = ["JUMIO_TOKEN_URL", "JUMIO_API_URL", "JUMIO_CLIENT_ID", "JUMIO_CLIENT_SECRET"] as const;
const ONFIDO_API = ["ONFIDO_API_URL", "ONFIDO_API_TOKEN"] as const;
const SUMSUB_API = ["SUMSUB_API_URL", "SUMSUB_APP_TOKEN", "SUMSUB_SECRET_KEY"] as const;
const TRULIOO_API = ["TRULIOO_TOKEN_URL", "TRULIOO_API_URL", "TRULIOO_CLIENT_ID", "TRULIOO_CLIENT_SECRET"] as const;
/** Outbound settings that only mean something on top of a provider's API settings. */
const NEEDS_API = [
  ["ONFIDO_WORKFLOW_ID", ONFIDO_API],
  ["JUMIO_ACCOUNT_URL", JUMIO_API],
] as const;

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
  for (const group of [JUMIO_API, ONFIDO_API, SUMSUB_API, TRULIOO_API]) {
    const missing = group.filter((k) => c[k] === undefined);
    if (missing.length > 0 && missing.length < group.length)
      problems.push(`${missing.join(", ")}: required together with ${group.filter((k) => !missing.includes(k)).join(", ")}`);
  }
  for (const [setting, group] of NEEDS_API) {
    const missing = group.filter((k) => c[k] === undefined);
    if (c[setting] !== undefined && missing.length > 0) problems.push(`${missing.join(", ")}: required with ${setting}`);
  }
  return problems;
}
