import { parseUnits } from "viem";
import { exactDecimal, isPositiveDecimal } from "../providers/decimal.js";

/**
 * A payment amount from a job payload as an exact, positive decimal string (the receiver has
 * already turned JSON numbers into their exact text; a job added by other means may still
 * carry a number or a string). Undefined when it is not one.
 */
export function paymentAmount(v: unknown): string | undefined {
  const d = exactDecimal(v);
  return d !== undefined && isPositiveDecimal(d) ? d : undefined;
}

const scaleOf = (s: string) => (s.includes(".") ? s.length - s.indexOf(".") - 1 : 0);

/** Exact decimal equality: "100" == "100.0" == "100.00"; "100.001" != "100". */
export function decimalEquals(a: string, b: string): boolean {
  const scale = Math.max(scaleOf(a), scaleOf(b));
  return parseUnits(a, scale) === parseUnits(b, scale);
}

const PLAIN_DECIMAL = /^\d+(\.\d+)?$/;
export const isPlainDecimal = (s: string) => PLAIN_DECIMAL.test(s);
