import { createPrivateKey } from "node:crypto";
import { z } from "zod";
import { emptyToUndefined, intInRange, optionalString, optionalUrl, stringWithDefault } from "./env.js";

/**
 * The API secret key as a PEM. Environments often carry a multi-line value with its newlines
 * escaped (`\n`), which is accepted too. Never echoed: it is the key that signs every request.
 */
const pemPrivateKey = () =>
  z.preprocess(
    emptyToUndefined,
    z
      .string()
      .transform((v, ctx) => {
        const pem = v.includes("\\n") ? v.replace(/\\n/g, "\n") : v;
        try {
          createPrivateKey(pem);
          return pem;
        } catch {
          ctx.addIssue({ code: "custom", message: "expected an RSA private key in PEM form (-----BEGIN PRIVATE KEY----- ...)" });
          return z.NEVER;
        }
      })
      .optional(),
  );

/** Settings of Fireblocks' API that hookrail calls (vaults, transactions); its webhook keys are in ./webhooks.ts. */
export const custodySchema = z.object({
  /** Fireblocks API base without `/v1`, e.g. https://api.fireblocks.io or https://sandbox-api.fireblocks.io. */
  FIREBLOCKS_API_URL: optionalUrl(["https", "http"], "https://api.fireblocks.io"),
  /** The API user's key, sent as X-API-Key and as the JWT's `sub`. */
  FIREBLOCKS_API_KEY: optionalString(),
  /** The API user's RSA secret key (PEM) that signs each request's JWT (RS256). */
  FIREBLOCKS_API_SECRET_KEY: pemPrivateKey(),
  /** The asset wallet every investor's vault gets (its deposit address is shown on the investor). */
  FIREBLOCKS_VAULT_ASSET_ID: stringWithDefault("ETH"),
  /** One Fireblocks request slower than this fails (and the job retries). */
  FIREBLOCKS_TIMEOUT_MS: intInRange(100, 120_000, 10_000),
});

type CustodySettings = z.output<typeof custodySchema>;

const FIREBLOCKS_API = ["FIREBLOCKS_API_URL", "FIREBLOCKS_API_KEY", "FIREBLOCKS_API_SECRET_KEY"] as const;

/** A half-configured Fireblocks API would leave vault and transfer jobs failing with no word why. */
export function custodyConfigProblems(c: CustodySettings): string[] {
  const missing = FIREBLOCKS_API.filter((k) => c[k] === undefined);
  if (missing.length > 0 && missing.length < FIREBLOCKS_API.length)
    return [`${missing.join(", ")}: required together with ${FIREBLOCKS_API.filter((k) => !missing.includes(k)).join(", ")}`];
  return [];
}
