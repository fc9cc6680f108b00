import { z } from "zod";
import { eventJobId } from "../../../queues/job-id.js";
import { idString } from "../../../validation/fields.js";
import { allowlistSetting, defineProvider, secretsVerifier, webhookQueue, type WebhookJob } from "../provider.js";
import { HexHmacSha256Verifier } from "../verify/hex-hmac.js";

// The `token` Trulioo puts in every body is a static shared value of the workflow's export
// step, i.e. a credential: each reader drops it, so no job, log or dead letter holds it.

/** The handshake (https://developer.trulioo.com/reference/api-handshake): answered with its challenge. */
const urlVerification = z
  .looseObject({ type: z.literal("URL_VERIFICATION"), challenge: idString(), token: z.unknown().optional() })
  .transform(({ token: _token, ...rest }) => rest);

/**
 * A Workflow Studio event (https://developer.trulioo.com/reference/event-dispatcher):
 * `event.type` says what happened (FLOW_START, STEP_INIT, SERVICE_SUBMIT, ...), `event.ts` when
 * (epoch seconds); a SERVICE_SUBMIT carries the service's result in `serviceData` (`serviceStatus`,
 * `match`, `transactionInfo.transactionId`). `clientId` is the "external identifier" Trulioo's
 * webhook object documents; `userId` the flow's user.
 */
const eventCallback = z
  .looseObject({
    type: z.literal("EVENT_CALLBACK"),
    id: idString(),
    token: z.unknown().optional(),
    event: z.looseObject({
      type: idString(),
      ts: z.union([z.number(), z.string()]).nullish(),
      user: z.string().nullish(),
    }),
    flowId: z.string().nullish(),
    userId: z.string().nullish(),
    clientId: z.string().nullish(),
    serviceType: z.string().nullish(),
    serviceData: z
      .looseObject({
        serviceStatus: z.string().nullish(),
        match: z.boolean().nullish(),
        timestamp: z.union([z.number(), z.string()]).nullish(),
        transactionInfo: z.looseObject({ transactionId: z.string().nullish() }).nullish(),
      })
      .nullish(),
  })
  .transform(({ token: _token, ...rest }) => rest);

export const truliooPayload = z.discriminatedUnion("type", [urlVerification, eventCallback], {
  error: "expected type URL_VERIFICATION or EVENT_CALLBACK",
});

export type TruliooPayload = z.output<typeof truliooPayload>;
export type TruliooEvent = Extract<TruliooPayload, { type: "EVENT_CALLBACK" }>;
export const truliooQueue = webhookQueue("kyc-trulioo", truliooPayload);
export type TruliooJob = WebhookJob<TruliooPayload>;

/** Trulioo Workflow Studio events, signed with x-trulioo-signature. */
export const truliooProvider = defineProvider({
  name: "trulioo",
  path: "/kyc/trulioo",
  reader: truliooPayload,
  // Identity: Trulioo's id, the event type and its time (one id may name several events of a flow).
  identify: (p) => {
    const e = p as TruliooEvent;
    const ts = String(e.event.ts ?? "");
    return { eventId: `${e.id}/${e.event.type}/${ts}`, jobId: eventJobId("trulioo", [e.id, e.event.type, ts]), jobName: e.event.type };
  },
  handshake: (p) => (p.type === "URL_VERIFICATION" ? { challenge: p.challenge } : undefined),
  queue: truliooQueue,
  verifier: secretsVerifier("TRULIOO_WEBHOOK_SECRETS", (secrets) => new HexHmacSha256Verifier("x-trulioo-signature", secrets)),
  allowlist: allowlistSetting("TRULIOO_IP_ALLOWLIST"),
});
