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

const UNSAFE = /[^A-Za-z0-9_-]/gu;

/** `%XX` for each UTF-8 byte of one character (a lone surrogate encodes as U+FFFD, as Buffer.from does). */
function percentEncode(ch: string): string {
  let out = "";
  for (const byte of Buffer.from(ch, "utf8")) out += `%${byte < 16 ? "0" : ""}${byte.toString(16).toUpperCase()}`;
  return out;
}

// One regex pass instead of a per-byte walk over the whole part (it showed in the receiver's profile).
const encodePart = (part: string): string => part.replace(UNSAFE, percentEncode);
