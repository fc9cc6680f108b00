import { parse } from "lossless-json";

/**
 * A JSON number whose text a JS number would not reproduce ("100.50", "0.30000000000000001",
 * "1e2", 20-digit integers). It keeps the text so money fields can be read exactly; any other
 * field serialises back to a plain number, as JSON.parse would have given.
 */
export class JsonNumberText {
  constructor(readonly text: string) {}
  toJSON(): number {
    return Number(this.text);
  }
}

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
