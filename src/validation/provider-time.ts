/**
 * Providers' own event times, in the shapes they send: epoch milliseconds, ISO 8601 with up
 * to nanoseconds ("2024-02-20T18:58:49.197534912Z", broker), or Sumsub's
 * "2020-02-21 13:23:19.321" (UTC, space-separated, optional "+0000"). Undefined if unreadable.
 */
export function parseProviderTime(v: unknown): Date | undefined {
  if (typeof v === "number" && Number.isFinite(v)) return new Date(v);
  if (typeof v !== "string" || v.trim() === "") return undefined;
  let s = v.trim();
  if (/^\d+$/.test(s)) return new Date(Number(s));
  s = s.replace(/^(\d{4}-\d{2}-\d{2}) (\d)/, "$1T$2");
  // Date.parse reads at most milliseconds; drop further fraction digits.
  s = s.replace(/(\.\d{3})\d+/, "$1");
  s = s.replace(/([+-]\d{2})(\d{2})$/, "$1:$2");
  if (/T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(s)) s += "Z";
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? undefined : d;
}
