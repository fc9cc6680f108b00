import { parse as losslessParse } from "lossless-json";
import { JsonNumberText } from "../../validation/json-number.js";

export class JsonSyntaxError extends Error {
  override name = "JsonSyntaxError";
}

/** A number whose JS value prints back as its text stays a number; any other keeps its text. */
const exactNumber = (value: number, text: string): number | JsonNumberText => (String(value) === text ? value : new JsonNumberText(text));

/**
 * Parse a webhook body keeping every number's source text where a JS number would lose it.
 * A key given twice with two different values is refused: in a signed body that is an
 * ambiguity worth refusing, since two parsers may read two different payloads out of the
 * same signed bytes (the same value twice reads one way only, and lossless-json accepts it).
 *
 * The native JSON.parse does the parsing, without a reviver: one that reads numbers' source
 * text (context.source) made it slower than lossless-json, while this path costs about half
 * of lossless-json (BENCHMARKS.md, "Receiver cost, second pass"). One pass over the text then
 * checks what the parse cannot see: every number prints back as its text (so
 * no JsonNumberText is needed), and the objects hold as many members as the text has `:`
 * outside strings (one per member in valid JSON; a key given twice leaves one member for
 * two). A body that fails either check, or the parse, goes to lossless-json, which keeps the
 * text of the numbers that need it and refuses conflicting duplicate keys, with its error
 * message.
 */
export function parseExactJson(text: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return parseOrExplain(text, err);
  }
  const colons = plainScan(text);
  if (colons < 0 || members(parsed) !== colons) return parseOrExplain(text);
  return parsed;
}

/** Parse with lossless-json (numbers as above, duplicate keys refused), its error as JsonSyntaxError. */
function parseOrExplain(text: string, nativeError?: unknown): unknown {
  let value: unknown;
  try {
    value = losslessParse(text, null, (n) => exactNumber(Number(n), n));
  } catch (err) {
    throw new JsonSyntaxError((err as Error).message);
  }
  // Only reached if the two parsers disagree about a text's validity: refuse it either way.
  if (nativeError !== undefined) throw new JsonSyntaxError((nativeError as Error).message);
  return value;
}

/**
 * In valid JSON text: the number of `:` outside strings (one per object member), or -1 if a
 * number's text is not what its JS value prints as ("100.50", "1e2", 20-digit integers).
 */
function plainScan(text: string): number {
  let colons = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // Skip the string: up to the next quote not escaped by a backslash.
      for (i++; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x3a) colons++;
    else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      // A number: up to the first character that cannot be part of one.
      let j = i + 1;
      for (; j < n; j++) {
        const d = text.charCodeAt(j);
        if (!((d >= 0x30 && d <= 0x39) || d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === 0x2d)) break;
      }
      const literal = text.slice(i, j);
      if (String(Number(literal)) !== literal) return -1;
      i = j - 1;
    }
  }
  return colons;
}

/** Members of every object in a parsed JSON value. */
function members(value: unknown): number {
  if (typeof value !== "object" || value === null) return 0;
  let count = 0;
  if (Array.isArray(value)) {
    for (const v of value) count += members(v);
    return count;
  }
  for (const key in value) count += 1 + members((value as Record<string, unknown>)[key]);
  return count;
}
