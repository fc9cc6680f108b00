import { createHmac } from "node:crypto";
import { digestsEqual } from "./constant-time.js";
import { SignatureError, type HeaderReader, type WebhookVerifier } from "./errors.js";

const ALGORITHMS: Record<string, string> = {
  HMAC_SHA1_HEX: "sha1",
  HMAC_SHA256_HEX: "sha256",
  HMAC_SHA512_HEX: "sha512",
};

/**
 * Sumsub: `X-Payload-Digest` is the hex HMAC of the raw body with the webhook secret, the
 * algorithm named in `X-Payload-Digest-Alg`. Nothing time-bound is signed, so a replay is
 * only caught by the job id (the event's own identity).
 */
export class SumsubDigestVerifier implements WebhookVerifier {
  constructor(private readonly secrets: readonly string[]) {}

  verify(header: HeaderReader, body: Buffer): void {
    const digest = header("x-payload-digest");
    const alg = header("x-payload-digest-alg");
    if (!digest || !alg) throw new SignatureError("missing_header", "X-Payload-Digest and X-Payload-Digest-Alg are required");
    const hash = ALGORITHMS[alg.toUpperCase()];
    if (!hash) throw new SignatureError("malformed_header", `X-Payload-Digest-Alg must be one of ${Object.keys(ALGORITHMS).join(", ")}`);
    if (!/^[0-9a-fA-F]+$/.test(digest) || digest.length % 2 !== 0) throw new SignatureError("malformed_header", "X-Payload-Digest must be hex");
    if (this.secrets.length === 0) throw new SignatureError("not_configured", "no secret is configured for this route");
    const given = Buffer.from(digest, "hex");
    for (const secret of this.secrets) {
      if (digestsEqual(createHmac(hash, secret).update(body).digest(), given)) return;
    }
    throw new SignatureError("no_match", "X-Payload-Digest matches no configured secret");
  }
}

export function signSumsub(secret: string, alg: keyof typeof ALGORITHMS | string, body: string | Buffer): string {
  return createHmac(ALGORITHMS[alg] ?? "sha256", secret)
    .update(body)
    .digest("hex");
}
