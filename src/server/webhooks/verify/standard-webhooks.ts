import { createHmac, createSecretKey, type KeyObject } from "node:crypto";
import { digestsEqual } from "./constant-time.js";
import { SignatureError, type HeaderReader, type WebhookVerifier } from "./errors.js";

export interface StandardWebhooksOptions {
  /** Accepted distance between `webhook-timestamp` and now, either way. */
  toleranceSeconds?: number;
  now?: () => number;
}

/** Turn `whsec_<base64>` (prefix optional) into the HMAC key bytes. */
export function standardWebhookKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith("whsec_") ? secret.slice(6) : secret, "base64");
}

/**
 * Standard Webhooks (https://www.standardwebhooks.com): `webhook-signature` holds
 * space-separated `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`; any of them may match any
 * configured secret (rotation on both sides). The timestamp is signed, so checking its age
 * stops replays of captured requests.
 */
export class StandardWebhooksVerifier implements WebhookVerifier {
  // Key objects, imported once: createHmac with raw bytes imports the key on every call.
  private readonly keys: KeyObject[];
  private readonly tolerance: number;
  private readonly now: () => number;

  constructor(secrets: readonly string[], opts: StandardWebhooksOptions = {}) {
    this.keys = secrets.map((s) => createSecretKey(standardWebhookKey(s)));
    this.tolerance = opts.toleranceSeconds ?? 300;
    this.now = opts.now ?? Date.now;
  }

  verify(header: HeaderReader, body: Buffer): void {
    const id = header("webhook-id");
    const timestamp = header("webhook-timestamp");
    const signature = header("webhook-signature");
    if (!id || !timestamp || !signature) {
      throw new SignatureError("missing_header", "webhook-id, webhook-timestamp and webhook-signature are required");
    }
    if (!/^\d{1,15}$/.test(timestamp)) throw new SignatureError("malformed_header", "webhook-timestamp must be integer seconds");
    if (Math.abs(Math.floor(this.now() / 1000) - Number(timestamp)) > this.tolerance) {
      throw new SignatureError("stale_timestamp", `webhook-timestamp is more than ${this.tolerance} s away from now`);
    }
    const candidates: Buffer[] = [];
    for (const part of signature.split(" ")) {
      const comma = part.indexOf(",");
      // Other versions (v1a = asymmetric) are skipped, as the spec asks.
      if (comma > 0 && part.slice(0, comma) === "v1") candidates.push(Buffer.from(part.slice(comma + 1), "base64"));
    }
    if (candidates.length === 0) throw new SignatureError("malformed_header", "webhook-signature has no v1 signature");
    if (this.keys.length === 0) throw new SignatureError("not_configured", "no secret is configured for this route");
    const prefix = `${id}.${timestamp}.`;
    for (const key of this.keys) {
      const expected = createHmac("sha256", key).update(prefix).update(body).digest();
      for (const candidate of candidates) if (digestsEqual(expected, candidate)) return;
    }
    throw new SignatureError("no_match", "no signature matches a configured secret");
  }
}

/** Sign like a Standard Webhooks sender does (tests, benchmarks and the README's example). */
export function signStandardWebhook(secret: string, id: string, timestampSeconds: number, body: string | Buffer): string {
  const mac = createHmac("sha256", standardWebhookKey(secret))
    .update(Buffer.concat([Buffer.from(`${id}.${timestampSeconds}.`), Buffer.isBuffer(body) ? body : Buffer.from(body)]))
    .digest("base64");
  return `v1,${mac}`;
}
