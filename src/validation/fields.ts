import { getAddress, isAddress } from "viem";
import { z } from "zod";
import { exactDecimal, isPositiveDecimal } from "./decimal.js";
import { JsonNumberText } from "./json-number.js";

// Field schemas shared by every edge that validates input: the webhook readers, the admin
// API and the configuration. One definition each, so two edges never disagree about a value.

/** An identifier as the provider prints it: any non-empty string (not forced to be a UUID). */
export const idString = () => z.string().trim().min(1, { error: "required, a non-empty string" }).max(256);

/**
 * An exact decimal amount; see decimal.ts. Output is the decimal string, which reads back as
 * itself, so a job checked again by the worker host keeps the same amount.
 */
export const amountField = (opts: { positive?: boolean } = {}) =>
  z.unknown().transform((v, ctx) => {
    const d = exactDecimal(v);
    if (d === undefined) {
      ctx.addIssue({
        code: "custom",
        message: v === undefined ? "required" : 'expected an exact decimal amount: a JSON number or a string like "100.25"',
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
export const currencyCode = () => z.string().refine((c) => CURRENCIES.has(c), { error: "expected an ISO 4217 currency code such as USD, EUR or GBP" });

export const dateTimeString = () => z.string().refine((t) => !Number.isNaN(Date.parse(t)), { error: "expected a date-time" });

/** A JSON number or string, kept as its text (ids and timestamps that some providers send as numbers). */
export const textOrNumber = () =>
  z.union([z.string().min(1).max(256), z.number(), z.instanceof(JsonNumberText)]).transform((v) => (v instanceof JsonNumberText ? v.text : String(v)));

/** An EVM address in any case; output is its checksummed form. */
export const addressString = () =>
  z
    .string()
    .refine((v) => isAddress(v, { strict: false }), { error: "expected a 0x-prefixed 20-byte hex address" })
    .transform((v) => getAddress(v));

/** Token or payout base units: a decimal integer string above 0 and below 2^256. */
export const baseUnitsString = (what = "base units") =>
  z
    .string()
    .regex(/^[0-9]{1,78}$/, { error: `expected ${what} as a decimal integer string` })
    // Zod runs refinements even after the regex failed: only convert what is digits.
    .refine((v) => !/^[0-9]+$/.test(v) || (BigInt(v) > 0n && BigInt(v) < 2n ** 256n), { error: "expected more than 0 and less than 2^256" });
