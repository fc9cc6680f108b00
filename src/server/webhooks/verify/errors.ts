/** Why a signature check failed. Every reason answers 401; the reason is logged, never the header. */
export type SignatureFailure = "missing_header" | "malformed_header" | "stale_timestamp" | "no_match" | "unknown_key" | "not_configured";

export class SignatureError extends Error {
  constructor(
    readonly reason: SignatureFailure,
    message: string,
  ) {
    super(message);
    this.name = "SignatureError";
  }
}

/**
 * The verifier could not decide because something we depend on (a JWKS endpoint) did not
 * answer. The request may be genuine, so the answer is 503 and the provider retries.
 */
export class VerifierUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "VerifierUnavailableError";
  }
}

/** Reads a request header by its lower-case name. */
export type HeaderReader = (name: string) => string | undefined;

/** One signature scheme. Resolves when the raw body is authentic; throws SignatureError otherwise. */
export interface WebhookVerifier {
  verify(header: HeaderReader, body: Buffer): void | Promise<void>;
}
