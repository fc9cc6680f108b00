// Dev-only: sends the simulator's events; no production process loads src/dev.
import { randomUUID, type KeyObject } from "node:crypto";
import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { isLosslessNumber, parse, stringify } from "lossless-json";
import type { SigningScheme, SimulatedEvent } from "./catalog.js";
import { fireblocksV1Headers, fireblocksV2Headers } from "./fireblocks-signing.js";

/**
 * The HMAC signers of hookrail's own verifiers (src/server/webhooks/verify), handed in by the
 * entry point: dev-only code may not import the server layer, and signing with the very
 * functions the verifiers are tested against keeps one definition of each scheme.
 */
export interface HmacSigners {
  standardWebhook(secret: string, id: string, timestampSeconds: number, body: string): string;
  sumsub(secret: string, alg: string, body: string): string;
  hexHmacSha256(secret: string, body: string): string;
}

/** What the simulator signs with: the first (newest) entry of each route's configured rotation list. */
export interface SimulatorSecrets {
  payments?: string;
  bakkt?: string;
  sumsub?: string;
  onfido?: string;
  trulioo?: string;
  /** `user:password` of the Jumio callback URL. */
  jumio?: string;
  /** The private half of a key in FIREBLOCKS_PUBLIC_KEYS (v1) or in the JWKS at FIREBLOCKS_JWKS_URL (v2, named by kid). */
  fireblocks?: { privateKey: KeyObject; kid?: string };
}

export interface SimulatorTargets {
  /** hookrail's web base URL, e.g. http://127.0.0.1:3000. */
  baseUrl: string;
  /** The broker queues to publish envelopes to (the broker publishes every event to both). */
  sqs?: { client: SQSClient; queueUrls: string[] };
}

export type SendResult = { kind: "webhook"; url: string; status: number; answer: string } | { kind: "sqs"; messageId: string; queueUrls: string[] };

export class SimulatorError extends Error {
  override name = "SimulatorError";
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v) && !isLosslessNumber(v);

/**
 * The body with `path=value` overrides applied (dotted paths; the value is read as JSON when
 * it parses, else as a string). Numbers keep their exact text: money never goes through a
 * JS float. Without overrides the body is sent byte for byte as the source prints it.
 */
export function applyOverrides(body: string, overrides: readonly string[]): string {
  if (overrides.length === 0) return body;
  const doc = parse(body) as unknown;
  for (const o of overrides) {
    const eq = o.indexOf("=");
    if (eq <= 0) throw new SimulatorError(`--set ${o}: expected path=value`);
    const path = o.slice(0, eq).split(".");
    const text = o.slice(eq + 1);
    let value: unknown;
    try {
      value = parse(text);
    } catch {
      value = text;
    }
    let at: unknown = doc;
    for (const key of path.slice(0, -1)) {
      if (!isObject(at)) throw new SimulatorError(`--set ${o}: ${key} is not inside an object`);
      at[key] = isObject(at[key]) ? at[key] : {};
      at = at[key];
    }
    if (!isObject(at)) throw new SimulatorError(`--set ${o}: not inside an object`);
    at[path.at(-1)!] = value;
  }
  return `${stringify(doc, undefined, 2)}`;
}

const need = <T>(value: T | undefined, setting: string): T => {
  if (value === undefined || value === "") throw new SimulatorError(`${setting} is not set: cannot sign this event`);
  return value;
};

async function headersFor(
  provider: string,
  scheme: SigningScheme,
  body: string,
  secrets: SimulatorSecrets,
  sign: HmacSigners,
): Promise<Record<string, string>> {
  const json = { "content-type": "application/json" };
  switch (scheme) {
    case "standard-webhooks": {
      const secret = provider === "payments" ? need(secrets.payments, "PAYMENTS_WEBHOOK_SECRETS") : need(secrets.bakkt, "BAKKT_WEBHOOK_SECRETS");
      const id = `msg_${randomUUID()}`;
      const ts = Math.floor(Date.now() / 1000);
      return { ...json, "webhook-id": id, "webhook-timestamp": String(ts), "webhook-signature": sign.standardWebhook(secret, id, ts, body) };
    }
    case "sumsub-digest": {
      const alg = "HMAC_SHA256_HEX";
      return { ...json, "x-payload-digest": sign.sumsub(need(secrets.sumsub, "SUMSUB_WEBHOOK_SECRETS"), alg, body), "x-payload-digest-alg": alg };
    }
    case "onfido-hmac":
      return { ...json, "x-sha2-signature": sign.hexHmacSha256(need(secrets.onfido, "ONFIDO_WEBHOOK_SECRETS"), body) };
    case "trulioo-hmac":
      return { ...json, "x-trulioo-signature": sign.hexHmacSha256(need(secrets.trulioo, "TRULIOO_WEBHOOK_SECRETS"), body) };
    case "jumio-basic":
      return { ...json, authorization: `Basic ${Buffer.from(need(secrets.jumio, "JUMIO_CALLBACK_CREDENTIALS")).toString("base64")}` };
    case "fireblocks-v1":
      return fireblocksV1Headers(need(secrets.fireblocks, "SIMULATOR_FIREBLOCKS_PRIVATE_KEY").privateKey, body);
    case "fireblocks-v2": {
      const key = need(secrets.fireblocks, "SIMULATOR_FIREBLOCKS_PRIVATE_KEY");
      return fireblocksV2Headers(key.privateKey, need(key.kid, "SIMULATOR_FIREBLOCKS_KID"), body);
    }
  }
}

/** Sign and send one event (its body already final) to hookrail, or publish it to the broker queues. */
export async function sendEvent(e: SimulatedEvent, body: string, secrets: SimulatorSecrets, targets: SimulatorTargets, sign: HmacSigners): Promise<SendResult> {
  const t = e.transport;
  if (t.kind === "sqs") {
    const sqs = targets.sqs;
    if (!sqs || sqs.queueUrls.length === 0) throw new SimulatorError("BAKKT_SQS_PRIMARY_URL / BAKKT_SQS_DR_URL are not set: nowhere to publish");
    const payload = parse(body) as Record<string, unknown>;
    const group = typeof payload.partnerPartyRef === "string" ? payload.partnerPartyRef : "simulator";
    const envelope = { message_id: randomUUID(), event_type: t.eventType, timestamp: new Date().toISOString(), payload, message_group_id: group };
    const text = stringify(envelope)!;
    // The same message on both queues, as the broker publishes it; hookrail keeps one.
    for (const url of sqs.queueUrls) {
      await sqs.client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: text, MessageGroupId: group, MessageDeduplicationId: envelope.message_id }));
    }
    return { kind: "sqs", messageId: envelope.message_id, queueUrls: sqs.queueUrls };
  }
  const headers = await headersFor(e.provider, t.scheme, body, secrets, sign);
  const url = new URL(t.path, targets.baseUrl).toString();
  const res = await fetch(url, { method: "POST", headers, body });
  return { kind: "webhook", url, status: res.status, answer: await res.text() };
}
