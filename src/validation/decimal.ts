import { parseUnits } from "viem";
import { JsonNumberText } from "./json-number.js";

const NUMBER = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;
/** A plain decimal as money is written: optional sign, digits, optional fraction. No exponent. */
const PLAIN_DECIMAL = /^-?\d+(\.\d+)?$/;
/** Exponents beyond this are not money; refusing them also bounds the string we build. */
const MAX_EXPONENT = 40;

/**
 * The exact decimal a JSON number literal denotes, as a plain string ("1.5e-3" -> "0.0015",
 * "100.50" -> "100.50"), by moving the decimal point in the text: no float arithmetic.
 */
export function decimalFromNumberText(text: string): string | undefined {
  const m = NUMBER.exec(text);
  if (!m) return undefined;
  const [, sign, intPart, fracPart = "", expText = "0"] = m as unknown as [string, string, string, string | undefined, string | undefined];
  const exp = Number(expText);
  if (!Number.isInteger(exp) || Math.abs(exp) > MAX_EXPONENT) return undefined;
  let digits = intPart + fracPart;
  let point = intPart.length + exp;
  if (point < 0) {
    digits = "0".repeat(-point) + digits;
    point = 0;
  }
  if (point > digits.length) digits += "0".repeat(point - digits.length);
  let whole = digits.slice(0, point).replace(/^0+(?=\d)/, "");
  if (whole === "") whole = "0";
  const frac = digits.slice(point);
  const out = frac ? `${whole}.${frac}` : whole;
  return sign && /[1-9]/.test(out) ? `-${out}` : out;
}

/** True for a plain decimal string ("100", "-0.5", "100.00"); false for "1e2", "1,000", ".5". */
export const isPlainDecimal = (s: string) => PLAIN_DECIMAL.test(s);

/** True for a decimal string above zero. */
export const isPositiveDecimal = (d: string) => !d.startsWith("-") && /[1-9]/.test(d);

/**
 * A money amount from a JSON payload as an exact decimal string. Accepts a JSON number (read
 * from its source text, see json-number.ts) or a string holding a plain decimal, since
 * providers send both. Returns undefined when the value is not an exact decimal.
 */
export function exactDecimal(value: unknown): string | undefined {
  if (value instanceof JsonNumberText) return decimalFromNumberText(value.text);
  // A plain number only arrives here when String(n) reproduces its source text exactly.
  if (typeof value === "number") return Number.isFinite(value) ? decimalFromNumberText(String(value)) : undefined;
  if (typeof value === "string" && value.trim().length <= 64 && isPlainDecimal(value.trim())) return decimalFromNumberText(value.trim());
  return undefined;
}

const scaleOf = (s: string) => (s.includes(".") ? s.length - s.indexOf(".") - 1 : 0);

/** Exact decimal equality: "100" == "100.0" == "100.00"; "100.001" != "100". */
export function decimalEquals(a: string, b: string): boolean {
  const scale = Math.max(scaleOf(a), scaleOf(b));
  return parseUnits(a, scale) === parseUnits(b, scale);
}

/**
 * A plain positive-or-zero decimal in a token's units as exact base units ("1250.5", 6 ->
 * 1250500000n). Undefined when it has more significant fraction digits than the token
 * (trailing zeros are exact and allowed): such an amount cannot be paid exactly.
 */
export function toBaseUnits(decimal: string, decimals: number): bigint | undefined {
  if (!isPlainDecimal(decimal) || decimal.startsWith("-")) return undefined;
  const frac = decimal.includes(".") ? decimal.slice(decimal.indexOf(".") + 1).replace(/0+$/, "") : "";
  if (frac.length > decimals) return undefined;
  return parseUnits(decimal, decimals);
}
