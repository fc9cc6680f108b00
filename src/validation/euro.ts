import { parseUnits } from "viem";
import { z } from "zod";
import { isPlainDecimal } from "./decimal.js";

/** The most one SEPA debit may carry (the pain.008 schema's and the EPC rulebook's limit). */
export const MAX_DEBIT_CENTS = 99_999_999_999n;

/** Euro cents of a plain decimal with at most two fraction digits ("100.5" -> 10050n). */
export const toCents = (d: string): bigint => parseUnits(d, 2);

/** Cents as the SEPA files print an amount: always two fraction digits ("10050" -> "100.50"). */
export function formatCents(cents: bigint): string {
  const sign = cents < 0n ? "-" : "";
  const abs = cents < 0n ? -cents : cents;
  return `${sign}${abs / 100n}.${(abs % 100n).toString().padStart(2, "0")}`;
}

/** A euro amount for one debit: a decimal string, at most two fraction digits, 0.01 to 999999999.99. */
export const euroAmountString = () =>
  z
    .string()
    .refine((v) => isPlainDecimal(v) && !v.startsWith("-") && /^\d+(\.\d{1,2})?$/.test(v), {
      error: 'expected a euro amount as a decimal string with at most two fraction digits, like "100.00"',
    })
    .refine((v) => !/^\d+(\.\d{1,2})?$/.test(v) || (toCents(v) > 0n && toCents(v) <= MAX_DEBIT_CENTS), { error: "expected 0.01 to 999999999.99" });
