import { createHmac } from "node:crypto";
import { digestsEqual } from "./constant-time.js";
import { SignatureError, type HeaderReader, type WebhookVerifier } from "./errors.js";

/**
 * One header holding the hex HMAC-SHA256 of the raw body with a shared secret (Onfido's
 * `X-SHA2-Signature`, Trulioo's `x-trulioo-signature`). Any configured secret may match, so a
 * secret can be rotated without dropping events. Nothing time-bound is signed: a replay is
 * only caught by the job id (the event's own identity) and the processor's unique key.
 */
export class HexHmacSha256Verifier implements WebhookVerifier {
  private readonly keys: Buffer[];

  constructor(
    /** Lower-case header name. */
    private readonly headerName: string,
    secrets: readonly string[],
  ) {
    this.keys = secrets.map((s) => Buffer.from(s, "utf8"));
  }

  verify(header: HeaderReader, body: Buffer): void {
    const signature = header(this.headerName)?.trim();
    if (!signature) throw new SignatureError("missing_header", `${this.headerName} is required`);
    if (!/^[0-9a-fA-F]{64}$/.test(signature)) throw new SignatureError("malformed_header", `${this.headerName} must be 64 hex digits`);
    if (this.keys.length === 0) throw new SignatureError("not_configured", "no secret is configured for this route");
    const given = Buffer.from(signature, "hex");
    for (const key of this.keys) {
      if (digestsEqual(createHmac("sha256", key).update(body).digest(), given)) return;
    }
    throw new SignatureError("no_match", `${this.headerName} matches no configured secret`);
  }
}

/** Sign like Onfido and Trulioo do (tests and the README's example). */
export const signHexHmacSha256 = (secret: string, body: string | Buffer): string => createHmac("sha256", secret).update(body).digest("hex");
