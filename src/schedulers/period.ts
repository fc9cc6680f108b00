/** The calendar month (UTC) a run belongs to, e.g. "2026-12": runs are idempotent per period. */
export function monthPeriod(at: Date | number): string {
  const d = new Date(at);
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
}
