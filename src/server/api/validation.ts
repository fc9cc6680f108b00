import type { Context } from "hono";
import { z } from "zod";
import { KYC_PROVIDERS } from "../../db/schema.js";
import { isPlainDecimal } from "../../validation/decimal.js";
import { addressString, baseUnitsString, currencyCode } from "../../validation/fields.js";
import { issuesOf } from "../../validation/issues.js";
import { invalid } from "../invalid.js";

/** Ids that are safe in job ids and URLs: letters, digits, `.`, `_`, `-` (no `:`). */
export const identifier = z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, { error: "expected 1-128 letters, digits, '.', '_' or '-'" });

/** The body of an operator's action on an order: why (kept in the audit log). */
export const reasonInput = z.strictObject({
  reason: z.string().trim().min(1, { error: "expected why (1-500 characters)" }).max(500, { error: "expected why (1-500 characters)" }),
});

export const address = addressString();

export const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, { error: "expected YYYY-MM-DD" })
  .refine((v) => !Number.isNaN(Date.parse(`${v}T00:00:00Z`)) && new Date(`${v}T00:00:00Z`).toISOString().startsWith(v), { error: "not a calendar date" });

export const investorInput = z.strictObject({
  id: identifier,
  wallet: address,
  firstName: z.string().trim().min(1).max(200),
  lastName: z.string().trim().min(1).max(200),
  dateOfBirth: isoDate,
  nationality: z.string().regex(/^[A-Z]{2}$/, { error: "expected an ISO 3166-1 alpha-2 country code" }),
  bakktPartyRef: z.string().min(1).max(200).optional(),
  /** The provider the investor verifies with: its applicant is created by a kyc-applications job. */
  kycProvider: z.enum(KYC_PROVIDERS).optional(),
});
export type InvestorInput = z.infer<typeof investorInput>;

export const orderInput = z.strictObject({
  referenceId: identifier,
  investorId: identifier,
  tokenAddress: address,
  tokenAmount: baseUnitsString(),
  expectedAmount: z
    .string()
    .refine((v) => isPlainDecimal(v) && v.length <= 40, { error: 'expected a decimal string like "100.00"' })
    .refine((v) => !v.startsWith("-") && /[1-9]/.test(v), { error: "expected more than 0" }),
  // The same check as the webhooks' currency: an order nobody can pay is refused here.
  currency: currencyCode(),
});
export type OrderInput = z.infer<typeof orderInput>;

/** Parse a JSON body against a schema; on failure the 400 response says what is wrong. */
export async function parseBody<S extends z.ZodType>(c: Context, schema: S): Promise<{ data: z.infer<S> } | { response: Response }> {
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    return { response: c.json(invalid("invalid JSON body", ["(body): not JSON"]), 400) };
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) return { response: c.json(invalid("invalid request", issuesOf(parsed.error)), 400) };
  return { data: parsed.data };
}

/**
 * An order on the stablecoin rail (delivery versus payment). The cash amount is given exactly
 * once: `cashAmount` as a decimal in the token's units ("1250.50"), converted with the token's
 * decimals read on chain, or `cashBaseUnits` as an integer string of base units.
 */
export const stablecoinOrderInput = z
  .strictObject({
    rail: z.literal("stablecoin"),
    referenceId: identifier,
    investorId: identifier,
    tokenAddress: address,
    tokenAmount: baseUnitsString(),
    cashToken: address,
    cashAmount: z
      .string()
      .refine((v) => isPlainDecimal(v) && v.length <= 80, { error: 'expected a decimal string in the token\'s units, like "1250.50"' })
      .refine((v) => !v.startsWith("-") && /[1-9]/.test(v), { error: "expected more than 0" })
      .optional(),
    cashBaseUnits: baseUnitsString().optional(),
    /** Secondary trade: the investor wallet that delivers the tokens and receives the cash. */
    seller: address.optional(),
    expiresAt: z.iso.datetime({ offset: true, error: "expected an ISO 8601 date-time like 2026-12-31T23:59:59Z" }).optional(),
  })
  .superRefine((o, ctx) => {
    if ((o.cashAmount === undefined) === (o.cashBaseUnits === undefined)) {
      ctx.addIssue({ code: "custom", path: ["cashAmount"], message: "give exactly one of cashAmount (decimal) or cashBaseUnits (integer base units)" });
    }
  });
export type StablecoinOrderInput = z.infer<typeof stablecoinOrderInput>;
