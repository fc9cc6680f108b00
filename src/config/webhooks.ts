import { createPublicKey } from "node:crypto";
import { z } from "zod";
import { parseRange } from "../net/address-range.js";
import { csvList, intInRange, optionalString, optionalUrl } from "./env.js";

const cidrList = () =>
  csvList().superRefine((entries, ctx) => {
    const bad = entries.filter((e) => parseRange(e) === undefined);
    // The entries are addresses, not secrets, so naming them helps the operator.
    if (bad.length) ctx.addIssue({ code: "custom", message: `not an IP address or CIDR: ${bad.join(", ")}` });
  });

/** Standard Webhooks secrets: `whsec_` + base64 of at least 16 bytes (the prefix is optional). */
const standardWebhookSecrets = () =>
  csvList().superRefine((entries, ctx) => {
    entries.forEach((s, i) => {
      const b64 = s.startsWith("whsec_") ? s.slice(6) : s;
      const ok = /^[A-Za-z0-9+/]+={0,2}$/.test(b64) && Buffer.from(b64, "base64").length >= 16;
      if (!ok) ctx.addIssue({ code: "custom", message: `entry ${i + 1}: expected whsec_<base64 of at least 16 bytes>` });
    });
  });

/**
 * RSA public keys as PEM blocks (newlines may be written as a literal `\n`, blocks separated
 * by commas or whitespace) or as comma-separated base64 DER (SPKI). Several keys = rotation.
 */
export function parsePublicKeyList(value: string | undefined): string[] {
  if (!value) return [];
  const text = value.replace(/\\n/g, "\n");
  if (text.includes("-----BEGIN")) {
    return [...text.matchAll(/-----BEGIN [A-Z ]+-----[\s\S]*?-----END [A-Z ]+-----/g)].map((m) => m[0]);
  }
  return text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map(
      (b64) =>
        `-----BEGIN PUBLIC KEY-----\n${
          b64
            .replace(/\s+/g, "")
            .match(/.{1,64}/g)
            ?.join("\n") ?? ""
        }\n-----END PUBLIC KEY-----`,
    );
}

const publicKeyList = () =>
  optionalString()
    .transform((v) => parsePublicKeyList(v))
    .superRefine((pems, ctx) => {
      pems.forEach((pem, i) => {
        try {
          if (createPublicKey(pem).asymmetricKeyType !== "rsa") throw new Error("not RSA");
        } catch {
          ctx.addIssue({ code: "custom", message: `key ${i + 1}: expected an RSA public key (PEM or base64 DER)` });
        }
      });
    });

/** Settings of the webhooks feature (merged into the one config schema in ./index.ts). */
export const webhooksSchema = z.object({
  PAYMENTS_WEBHOOK_SECRETS: standardWebhookSecrets(),
  BAKKT_WEBHOOK_SECRETS: standardWebhookSecrets(),
  /** The bank's SEPA status reports (pain.002, camt.054) on /webhooks/payments/sepa. */
  SEPA_WEBHOOK_SECRETS: standardWebhookSecrets(),
  SUMSUB_WEBHOOK_SECRETS: csvList(),
  /** Onfido webhook tokens (rotation list): X-SHA2-Signature is the hex HMAC-SHA256 of the body with one. */
  ONFIDO_WEBHOOK_SECRETS: csvList(),
  /** Trulioo webhook secret keys (rotation list): x-trulioo-signature, the same scheme. */
  TRULIOO_WEBHOOK_SECRETS: csvList(),
  /** `user:password` Jumio puts in the callback URL; Jumio signs nothing, see JUMIO_IP_ALLOWLIST. */
  JUMIO_CALLBACK_CREDENTIALS: optionalString().pipe(
    z
      .string()
      .regex(/^[^:]+:.+$/, { error: "expected user:password" })
      .optional(),
  ),
  FIREBLOCKS_PUBLIC_KEYS: publicKeyList(),
  FIREBLOCKS_JWKS_URL: optionalUrl(["https", "http"], "https://keys.fireblocks.io/.well-known/jwks.json"),
  FIREBLOCKS_JWKS_COOLDOWN_MS: intInRange(0, 3_600_000, 30_000),
  PAYMENTS_IP_ALLOWLIST: cidrList(),
  BAKKT_IP_ALLOWLIST: cidrList(),
  SEPA_IP_ALLOWLIST: cidrList(),
  SUMSUB_IP_ALLOWLIST: cidrList(),
  FIREBLOCKS_IP_ALLOWLIST: cidrList(),
  ONFIDO_IP_ALLOWLIST: cidrList(),
  TRULIOO_IP_ALLOWLIST: cidrList(),
  /** Required for the Jumio route: with no signature, Jumio's published addresses are what authenticates a callback. */
  JUMIO_IP_ALLOWLIST: cidrList(),
  TRUSTED_PROXIES: cidrList(),
  WEBHOOK_MAX_BYTES: intInRange(1_024, 10 * 1024 * 1024, 256 * 1024),
});
