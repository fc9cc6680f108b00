import { createHash, timingSafeEqual } from "node:crypto";
import { SignatureError, type HeaderReader, type WebhookVerifier } from "./errors.js";

const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();

/**
 * HTTP Basic credentials put in a callback URL (`https://user:password@host/...`), for a
 * provider that signs nothing (Jumio). Compared as SHA-256 digests so the comparison takes the
 * same time whatever the length or content of what was sent. It only counts together with the
 * route's address allowlist: the credentials travel in every request, like a password.
 */
export class BasicAuthVerifier implements WebhookVerifier {
  private readonly expected: Buffer | undefined;

  /** `credentials` is `user:password`; undefined = not configured (every request 401). */
  constructor(credentials: string | undefined) {
    this.expected = credentials ? digest(credentials) : undefined;
  }

  verify(header: HeaderReader): void {
    const auth = header("authorization");
    if (!auth) throw new SignatureError("missing_header", "Authorization (Basic) is required");
    const m = /^Basic\s+([A-Za-z0-9+/]+={0,2})\s*$/i.exec(auth);
    if (!m) throw new SignatureError("malformed_header", "Authorization must be Basic <base64 user:password>");
    if (!this.expected) throw new SignatureError("not_configured", "no callback credentials are configured for this route");
    if (!timingSafeEqual(digest(Buffer.from(m[1]!, "base64").toString("utf8")), this.expected)) {
      throw new SignatureError("no_match", "the Basic credentials do not match");
    }
  }
}
