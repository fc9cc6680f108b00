/** The calendar month (UTC) a run belongs to, e.g. "2026-12": runs are idempotent per period. */
export function monthPeriod(at: Date | number): string {
  const d = new Date(at);
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
}

/** The calendar day (UTC), e.g. "2026-12-01". */
export function dayPeriod(at: Date | number): string {
  return new Date(at).toISOString().slice(0, 10);
}
