import { createPublicKey, verify, type KeyObject } from "node:crypto";
import { SignatureError, type HeaderReader, type WebhookVerifier } from "./errors.js";

/** Fireblocks webhooks v1: `Fireblocks-Signature` = base64 RSA-SHA512 (PKCS#1 v1.5) over the raw body. */
export class FireblocksV1Verifier implements WebhookVerifier {
  private readonly keys: KeyObject[];

  constructor(publicKeysPem: readonly string[]) {
    this.keys = publicKeysPem.map((pem) => createPublicKey(pem));
  }

  get configured(): boolean {
    return this.keys.length > 0;
  }

  verify(header: HeaderReader, body: Buffer): void {
    const signature = header("fireblocks-signature");
    if (!signature) throw new SignatureError("missing_header", "Fireblocks-Signature is required");
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(signature)) throw new SignatureError("malformed_header", "Fireblocks-Signature must be base64");
    if (!this.configured) throw new SignatureError("not_configured", "FIREBLOCKS_PUBLIC_KEYS is not configured");
    const sig = Buffer.from(signature, "base64");
    for (const key of this.keys) {
      if (verify("sha512", body, key, sig)) return;
    }
    throw new SignatureError("no_match", "Fireblocks-Signature matches no configured key");
  }
}
