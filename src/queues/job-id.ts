/**
 * A BullMQ-safe job id built from the provider's identity of an event: `<prefix>-<part>.<part>`.
 * Parts keep letters, digits, `-` and `_`; every other byte is percent-encoded (so `:` never
 * appears, which BullMQ reserves, and `.` only ever separates parts, so two different
 * identities never give the same id). The prefix makes it never all digits. Readable ids let
 * an operator find a provider's event on the dashboard by its id.
 */
export function eventJobId(prefix: string, parts: readonly string[]): string {
  return `${prefix}-${parts.map(encodePart).join(".")}`;
}

function encodePart(part: string): string {
  let out = "";
  for (const byte of Buffer.from(part, "utf8")) {
    const ch = String.fromCharCode(byte);
    out += /[A-Za-z0-9_-]/.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}
