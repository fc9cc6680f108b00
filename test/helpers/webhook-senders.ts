import { signHexHmacSha256 } from "../../src/server/webhooks/verify/hex-hmac.js";
import { signStandardWebhook } from "../../src/server/webhooks/verify/standard-webhooks.js";
import { signSumsub } from "../../src/server/webhooks/verify/sumsub-digest.js";

/** Headers a Standard Webhooks sender puts on a request. */
export function standardHeaders(secret: string, body: string, opts: { id?: string; timestamp?: number } = {}): Record<string, string> {
  const id = opts.id ?? `msg_${Math.random().toString(36).slice(2)}`;
  const ts = opts.timestamp ?? Math.floor(Date.now() / 1000);
  return {
    "content-type": "application/json",
    "webhook-id": id,
    "webhook-timestamp": String(ts),
    "webhook-signature": signStandardWebhook(secret, id, ts, body),
  };
}

export function sumsubHeaders(secret: string, body: string, alg = "HMAC_SHA256_HEX"): Record<string, string> {
  return { "content-type": "application/json", "x-payload-digest": signSumsub(secret, alg, body), "x-payload-digest-alg": alg };
}

export { fireblocksV1Headers, fireblocksV2Headers, rsaKeyPair } from "../../src/dev/simulator/fireblocks-signing.js";
export { JwksStub } from "../../src/dev/stubs/fireblocks-jwks.js";
export { jumioCallback, onfidoEvent, SEED, SUMSUB_DOCS, TRULIOO_DOCS } from "../../src/dev/simulator/examples.js";

/** A payment webhook shaped like the playbook's schema (it prints no literal example). */
export function paymentBody(over: Record<string, unknown> = {}): string {
  return JSON.stringify({
    referenceId: "ATK-TX-10001",
    amount: 2500.5,
    currency: "USD",
    bankTransactionId: `BTX-${Math.random().toString(36).slice(2, 10)}`,
    timestamp: "2026-03-01T12:00:00Z",
    signature: "sig-as-the-playbook-prints-it",
    ...over,
  });
}

/** Onfido signs the raw body: `X-SHA2-Signature` = hex HMAC-SHA256 with the webhook token. */
export const onfidoHeaders = (token: string, body: string): Record<string, string> => ({
  "content-type": "application/json",
  "x-sha2-signature": signHexHmacSha256(token, body),
});

/** Trulioo signs the unmodified body the same way, in `x-trulioo-signature`. */
export const truliooHeaders = (secret: string, body: string): Record<string, string> => ({
  "content-type": "application/json",
  "x-trulioo-signature": signHexHmacSha256(secret, body),
});

/** Jumio signs nothing; the callback URL carries `user:password`, which fetch sends as Basic auth. */
export const jumioHeaders = (credentials: string): Record<string, string> => ({
  "content-type": "application/json",
  authorization: `Basic ${Buffer.from(credentials).toString("base64")}`,
});

/** A Trulioo SERVICE_SUBMIT like the documented one, for a given user, result and time. */
export const truliooEvent = (fields: { id: string; userId: string; match: boolean; ts: number; transactionId?: string }) =>
  JSON.stringify({
    id: fields.id,
    token: "static-export-token",
    type: "EVENT_CALLBACK",
    event: { type: "SERVICE_SUBMIT", ts: fields.ts, user: fields.userId },
    flowId: "flow-1",
    userId: fields.userId,
    serviceType: "TRULIOO_EIDV",
    test: true,
    retry: 0,
    serviceData: {
      timestamp: fields.ts,
      serviceStatus: "COMPLETED",
      match: fields.match,
      transactionInfo: { countryCode: "US", transactionId: fields.transactionId ?? `tx-${fields.id}` },
      secondaryMatch: null,
    },
  });
