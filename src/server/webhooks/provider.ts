import { z } from "zod";
import type { Config } from "../../config/index.js";
import { DAY_SECONDS, type QueueSettings } from "../../queues/queue-module.js";
import type { WebhookVerifier } from "./verify/errors.js";

/**
 * The job a webhook receiver enqueues: the payload as the provider's reader produced it, the
 * provider's own id of the event, and when we received it. Never the signature headers or
 * any secret. The reader's output is the job's payload schema, so the worker host checks a
 * job against exactly what the receiver accepted.
 */
export const webhookJob = <P extends z.ZodType>(payload: P) =>
  z.object({
    eventId: z.string().min(1),
    receivedAt: z.iso.datetime({ error: "expected an ISO 8601 date-time" }),
    payload,
  });
export type WebhookJob<P> = { eventId: string; receivedAt: string; payload: P };

/** Every webhook queue keeps completed ids a week (providers redeliver for days) and retries 10 times. */
export const webhookQueue = <P extends z.ZodType>(name: string, payload: P): QueueSettings<ReturnType<typeof webhookJob<P>>> => ({
  name,
  schema: webhookJob(payload),
  attempts: 10,
  backoffMs: 2_000,
  keepCompletedSeconds: 7 * DAY_SECONDS,
  keepFailedSeconds: 30 * DAY_SECONDS,
});

/** How one event is named: in logs, in the job, and as the job id that makes a redelivery a duplicate. */
export interface EventIdentity {
  /** The provider's own id of the event (logged, and kept in the job). */
  eventId: string;
  jobId: string;
  /** BullMQ job name: the event type. */
  jobName: string;
}

export interface ProviderVerifier {
  verifier: WebhookVerifier;
  /** False when no secret or key is set: every request is then refused with 401. */
  configured: boolean;
  /** The settings that configure it, named in the start-up warning when unset. */
  settings: string;
}

/**
 * One webhook provider: its route, how its signature is checked, its reader (the zod schema
 * of its payload) and the queue its events go to. The route table is built from the list of
 * these in ./providers/index.ts.
 */
export interface WebhookProvider<P extends z.ZodType = z.ZodType> {
  /** The label on metrics and logs. */
  name: string;
  /** Under /webhooks, e.g. "/payments". */
  path: string;
  reader: P;
  identify(payload: z.output<P>): EventIdentity;
  /**
   * A request the provider wants answered at once instead of enqueued (Trulioo's URL
   * verification handshake): the JSON to answer 200 with; undefined for an event.
   */
  handshake?(payload: z.output<P>): Record<string, unknown> | undefined;
  queue: QueueSettings;
  verifier(config: Config): ProviderVerifier;
  allowlist(config: Config): { cidrs: string[]; setting: string };
}

/** Settings that hold a list of strings: secrets (rotation lists) and allowlists. */
type ListSetting = { [K in keyof Config]-?: Config[K] extends string[] ? K : never }[keyof Config];

/** A verifier built from one secrets setting (a rotation list), configured when it holds any. */
export const secretsVerifier =
  (setting: ListSetting, make: (secrets: string[]) => WebhookVerifier) =>
  (config: Config): ProviderVerifier => ({ verifier: make(config[setting]), configured: config[setting].length > 0, settings: setting });

/** A route's allowlist from one setting (CIDRs; empty = any address). */
export const allowlistSetting =
  (setting: ListSetting) =>
  (config: Config): { cidrs: string[]; setting: string } => ({ cidrs: config[setting], setting });

/** Type a provider once, so `identify` sees its reader's output. */
export const defineProvider = <P extends z.ZodType>(p: WebhookProvider<P>): WebhookProvider<P> => p;
