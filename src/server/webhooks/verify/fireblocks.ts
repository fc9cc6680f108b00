import { SignatureError, VerifierUnavailableError, type HeaderReader, type WebhookVerifier } from "./errors.js";
import type { FireblocksV1Verifier } from "./fireblocks-v1.js";
import type { FireblocksV2Verifier } from "./fireblocks-v2.js";

/**
 * Fireblocks sends both headers while a workspace migrates from v1 to v2. A request passes when
 * any configured scheme whose header is present verifies it; v2 is tried first (v1 is being
 * retired). If nothing verified and the JWKS was unreachable, the answer is "try again later".
 */
export class FireblocksVerifier implements WebhookVerifier {
  constructor(
    private readonly v1: FireblocksV1Verifier | undefined,
    private readonly v2: FireblocksV2Verifier | undefined,
  ) {}

  async verify(header: HeaderReader, body: Buffer): Promise<void> {
    const hasV2 = this.v2 !== undefined && header("fireblocks-webhook-signature") !== undefined;
    const hasV1 = this.v1?.configured === true && header("fireblocks-signature") !== undefined;
    if (!hasV1 && !hasV2) {
      throw new SignatureError("missing_header", "Fireblocks-Webhook-Signature or Fireblocks-Signature is required (for a configured scheme)");
    }
    let failure: Error | undefined;
    if (hasV2) {
      try {
        return await this.v2!.verify(header, body);
      } catch (err) {
        failure = err as Error;
      }
    }
    if (hasV1) {
      try {
        return this.v1!.verify(header, body);
      } catch (err) {
        if (!(failure instanceof VerifierUnavailableError)) failure = err as Error;
      }
    }
    throw failure!;
  }
}
