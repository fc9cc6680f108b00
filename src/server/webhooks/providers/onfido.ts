import { z } from "zod";
import { eventJobId } from "../../../queues/job-id.js";
import { idString } from "../../../validation/fields.js";
import { allowlistSetting, defineProvider, secretsVerifier, webhookQueue, type WebhookJob } from "../provider.js";
import { HexHmacSha256Verifier } from "../verify/hex-hmac.js";

/**
 * An Onfido webhook event (https://documentation.onfido.com/#webhooks; the schema is
 * `webhook_event` in github.com/onfido/onfido-openapi-spec): `payload.resource_type`,
 * `payload.action` and the affected `payload.object` (its id, status, completion time and
 * href; for checks and reports nothing more, so the processor reads the result from the API).
 * Any action is accepted, so an event type Onfido adds later is acknowledged, not retried.
 */
export const onfidoPayload = z.looseObject({
  payload: z.looseObject({
    resource_type: idString(),
    action: idString(),
    object: z.looseObject({
      id: idString(),
      status: z.string().nullish(),
      completed_at_iso8601: z.string().nullish(),
      href: z.string().nullish(),
    }),
  }),
});

export type OnfidoPayload = z.output<typeof onfidoPayload>;
export const onfidoQueue = webhookQueue("kyc-onfido", onfidoPayload);
export type OnfidoJob = WebhookJob<OnfidoPayload>;

/** Onfido check and report events, signed with X-SHA2-Signature. */
export const onfidoProvider = defineProvider({
  name: "onfido",
  path: "/kyc/onfido",
  reader: onfidoPayload,
  // Identity: the object and what happened to it. A check completes once (a reopened check
  // that completes again is a new event only if Onfido names it anew; its outcome key is the
  // check's result, so a repeat changes nothing either way).
  identify: ({ payload: p }) => ({
    eventId: `${p.action}/${p.object.id}`,
    jobId: eventJobId("onfido", [p.object.id, p.action]),
    jobName: p.action,
  }),
  queue: onfidoQueue,
  verifier: secretsVerifier("ONFIDO_WEBHOOK_SECRETS", (secrets) => new HexHmacSha256Verifier("x-sha2-signature", secrets)),
  allowlist: allowlistSetting("ONFIDO_IP_ALLOWLIST"),
});
