import { createRemoteJWKSet, errors, flattenedVerify } from "jose";
import { SignatureError, VerifierUnavailableError, type HeaderReader, type WebhookVerifier } from "./errors.js";

export interface FireblocksV2Options {
  jwksUrl: URL;
  /** Least time between two JWKS fetches; an unknown `kid` refetches once this has passed. */
  cooldownMs: number;
  /** Keys are refetched at least this often even when every `kid` is known. */
  cacheMaxAgeMs?: number;
  timeoutMs?: number;
}

/**
 * Fireblocks webhooks v2: `Fireblocks-Webhook-Signature` is a detached compact JWS
 * (`<protected>..<signature>`, RS512) over the raw body, the key chosen by `kid` from
 * Fireblocks' JWKS. jose caches the key set and refetches it when a `kid` is unknown (at most
 * once per cooldown, so random kids cannot make us hammer the endpoint).
 */
export class FireblocksV2Verifier implements WebhookVerifier {
  private readonly jwks: ReturnType<typeof createRemoteJWKSet>;

  constructor(opts: FireblocksV2Options) {
    this.jwks = createRemoteJWKSet(opts.jwksUrl, {
      cooldownDuration: opts.cooldownMs,
      cacheMaxAge: opts.cacheMaxAgeMs ?? 60 * 60 * 1000,
      timeoutDuration: opts.timeoutMs ?? 2_000,
    });
  }

  async verify(header: HeaderReader, body: Buffer): Promise<void> {
    const jws = header("fireblocks-webhook-signature");
    if (!jws) throw new SignatureError("missing_header", "Fireblocks-Webhook-Signature is required");
    const parts = jws.split(".");
    if (parts.length !== 3 || parts[1] !== "" || !parts[0] || !parts[2]) {
      throw new SignatureError("malformed_header", "Fireblocks-Webhook-Signature must be a detached JWS <header>..<signature>");
    }
    // RFC 7797: with "b64": false the body is signed as is; otherwise as base64url.
    let unencoded = false;
    try {
      unencoded = (JSON.parse(Buffer.from(parts[0], "base64url").toString("utf8")) as { b64?: unknown }).b64 === false;
    } catch {
      throw new SignatureError("malformed_header", "the JWS protected header is not base64url JSON");
    }
    try {
      await flattenedVerify({ protected: parts[0], payload: unencoded ? body : body.toString("base64url"), signature: parts[2] }, this.jwks, {
        algorithms: ["RS512"],
      });
    } catch (err) {
      if (err instanceof errors.JWKSTimeout) throw new VerifierUnavailableError("the Fireblocks JWKS endpoint timed out");
      if (err instanceof errors.JWKSNoMatchingKey) throw new SignatureError("unknown_key", "no JWKS key matches the JWS kid/alg");
      if (err instanceof errors.JOSEError) throw new SignatureError("no_match", `JWS rejected: ${err.code}`);
      // fetch itself failed (refused, DNS, non-JSON answer): our dependency, not the sender.
      throw new VerifierUnavailableError(`the Fireblocks JWKS endpoint failed: ${(err as Error).message}`);
    }
  }
}
