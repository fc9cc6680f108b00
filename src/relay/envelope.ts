import { z } from "zod";
import { issuesOf } from "../validation/issues.js";

/**
 * `event_type` carries domain, schema and version in one string, e.g. `orders.OrderEvent.v2`
 * or `transfers/withdrawal/1.0.0`. Domain and schema are single segments; the version is
 * the trailing number (an optional `v`, dotted parts allowed).
 */
const EVENT_TYPE = /^([A-Za-z][\w-]*)[./:]([A-Za-z][\w-]*)[./:](v?\d+(?:\.\d+)*)$/;

export interface EventType {
  domain: string;
  schema: string;
  version: string;
}

export function parseEventType(value: string): EventType | undefined {
  const m = EVENT_TYPE.exec(value);
  if (!m) return undefined;
  return { domain: m[1]!, schema: m[2]!, version: m[3]! };
}

/** `event_type`: checked here, read into its parts by whoever needs them (the job schema). */
export const eventTypeField = () =>
  z.string().refine((v) => parseEventType(v) !== undefined, {
    error: "expected <domain>.<schema>.<version>, e.g. orders.OrderEvent.v1",
  });
export const timestampField = () => z.string().refine((v) => !Number.isNaN(Date.parse(v)), { error: "expected an ISO-8601 timestamp" });
export const payloadField = () => z.record(z.string(), z.unknown(), { error: "expected an object" });
export const groupIdField = () => z.string().min(1, { error: "expected a non-empty string" });

/** The broker's envelope, as its guide lists the fields. Extra fields are allowed and ignored. */
export const envelopeSchema = z.object({
  // The guide says UUID; accept any 8-4-4-4-12 hex form rather than only RFC-variant ones.
  message_id: z.guid({ error: "expected a UUID" }),
  event_type: eventTypeField(),
  timestamp: timestampField(),
  payload: payloadField(),
  message_group_id: groupIdField(),
});
export type Envelope = z.infer<typeof envelopeSchema>;

export type ParsedBody = { ok: true; envelope: Envelope } | { ok: false; reason: string };

/** Parse a raw SQS body. Never throws: a bad body is reported so it can be dead-lettered. */
export function parseBody(body: string | undefined): ParsedBody {
  if (body === undefined || body.length === 0) return { ok: false, reason: "empty body" };
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (err) {
    return { ok: false, reason: `body is not JSON: ${(err as Error).message}` };
  }
  const result = envelopeSchema.safeParse(json);
  if (!result.success) return { ok: false, reason: `invalid envelope: ${issuesOf(result.error).join("; ")}` };
  return { ok: true, envelope: result.data };
}
