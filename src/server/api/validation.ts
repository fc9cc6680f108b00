import type { Context } from "hono";
import { getAddress, isAddress } from "viem";
import { z } from "zod";
import { isPlainDecimal } from "../../processors/decimal-amount.js";

/** Ids that are safe in job ids and URLs: letters, digits, `.`, `_`, `-` (no `:`). */
export const identifier = z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, { error: "expected 1-128 letters, digits, '.', '_' or '-'" });

export const address = z
  .string()
  .refine((v) => isAddress(v, { strict: false }), { error: "expected a 0x-prefixed 20-byte hex address" })
  .transform((v) => getAddress(v));

const isoDate = z
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
});
export type InvestorInput = z.infer<typeof investorInput>;

export const orderInput = z.strictObject({
  referenceId: identifier,
  investorId: identifier,
  tokenAddress: address,
  tokenAmount: z
    .string()
    .regex(/^[0-9]{1,78}$/, { error: "expected base units as a decimal integer string" })
    // Zod runs refinements even after the regex failed: only convert what is digits.
    .refine((v) => !/^[0-9]+$/.test(v) || (BigInt(v) > 0n && BigInt(v) < 2n ** 256n), { error: "expected more than 0 and less than 2^256" }),
  expectedAmount: z
    .string()
    .refine((v) => isPlainDecimal(v) && v.length <= 40, { error: "expected a decimal string like \"100.00\"" })
    .refine((v) => /[1-9]/.test(v), { error: "expected more than 0" }),
  currency: z.string().regex(/^[A-Z]{3}$/, { error: "expected an ISO 4217 code like USD" }),
});
export type OrderInput = z.infer<typeof orderInput>;

/** Parse a JSON body against a schema; on failure the 400 response says what is wrong. */
export async function parseBody<S extends z.ZodType>(c: Context, schema: S): Promise<{ data: z.infer<S> } | { response: Response }> {
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    return { response: c.json({ error: "invalid JSON body" }, 400) };
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`);
    return { response: c.json({ error: "invalid request", problems }, 400) };
  }
  return { data: parsed.data };
}
