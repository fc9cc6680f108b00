import { parse } from "lossless-json";
import { JsonNumberText } from "../../validation/json-number.js";

const parseNumber = (text: string): number | JsonNumberText => {
  const n = Number(text);
  return String(n) === text ? n : new JsonNumberText(text);
};

export class JsonSyntaxError extends Error {
  override name = "JsonSyntaxError";
}

/**
 * Parse a webhook body keeping every number's source text where a JS number would lose it.
 * Node 20's JSON.parse cannot expose a number's source text, hence lossless-json. It also
 * rejects duplicate keys: in a signed body they are an ambiguity worth refusing, since two
 * parsers may read two different payloads out of the same signed bytes.
 */
export function parseExactJson(text: string): unknown {
  try {
    return parse(text, null, parseNumber);
  } catch (err) {
    throw new JsonSyntaxError((err as Error).message);
  }
}
