import { z } from "zod";
import { exactDecimal, isPositiveDecimal } from "./decimal.js";
import { JsonNumberText } from "./exact-json.js";

/** An identifier as the provider prints it: any non-empty string (not forced to be a UUID). */
export const idString = () => z.string().trim().min(1, { error: "required, a non-empty string" }).max(256);

/** An exact decimal amount; see decimal.ts. Output is the decimal string. */
export const amountField = (opts: { positive?: boolean } = {}) =>
  z.unknown().transform((v, ctx) => {
    const d = exactDecimal(v);
    if (d === undefined) {
      ctx.addIssue({
        code: "custom",
        message: v === undefined ? "required" : "expected an exact decimal amount: a JSON number or a string like \"100.25\"",
      });
      return z.NEVER;
    }
    if (opts.positive && !isPositiveDecimal(d)) {
      ctx.addIssue({ code: "custom", message: "expected an amount greater than zero" });
      return z.NEVER;
    }
    return d;
  });

const CURRENCIES = new Set<string>(Intl.supportedValuesOf("currency"));

/** ISO 4217 alphabetic code, checked against the list the runtime's ICU knows. */
export const currencyCode = () =>
  z.string().refine((c) => CURRENCIES.has(c), { error: "expected an ISO 4217 currency code such as USD, EUR or GBP" });

export const dateTimeString = () => z.string().refine((t) => !Number.isNaN(Date.parse(t)), { error: "expected a date-time" });

/** A JSON number or string, kept as its text (ids and timestamps that some providers send as numbers). */
export const textOrNumber = () =>
  z.union([z.string().min(1).max(256), z.number(), z.instanceof(JsonNumberText)]).transform((v) =>
    v instanceof JsonNumberText ? v.text : String(v),
  );

/** What a provider reader gives the receiver: the job to add, or what is wrong. */
export interface ProviderEvent {
  /** The provider's own id of the event (logged, and kept in the job). */
  eventId: string;
  jobId: string;
  /** BullMQ job name: the event type. */
  jobName: string;
  payload: Record<string, unknown>;
}

export type ReadResult = { ok: true; event: ProviderEvent } | { ok: false; issues: string[] };

export function issuesOf(error: z.ZodError): string[] {
  return error.issues.slice(0, 20).map((i) => `${i.path.length ? i.path.join(".") : "(body)"}: ${i.message}`);
}
