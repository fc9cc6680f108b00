import { parseUnits } from "viem";

const PLAIN_DECIMAL = /^\d+(\.\d+)?$/;

/**
 * A payment amount as an exact decimal string. Providers send a JSON number or a string;
 * a number is taken in its shortest round-trip form (100.1 -> "100.1"), never through
 * arithmetic. Undefined for anything that is not a plain non-negative decimal.
 */
export function decimalString(v: unknown): string | undefined {
  const s = typeof v === "string" ? v.trim() : typeof v === "number" && Number.isFinite(v) ? String(v) : undefined;
  return s !== undefined && PLAIN_DECIMAL.test(s) ? s : undefined;
}

const scaleOf = (s: string) => (s.includes(".") ? s.length - s.indexOf(".") - 1 : 0);

/** Exact decimal equality: "100" == "100.0" == "100.00"; "100.001" != "100". */
export function decimalEquals(a: string, b: string): boolean {
  const scale = Math.max(scaleOf(a), scaleOf(b));
  return parseUnits(a, scale) === parseUnits(b, scale);
}

export const isPlainDecimal = (s: string) => PLAIN_DECIMAL.test(s);
