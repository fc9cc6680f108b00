// Calendar arithmetic on YYYY-MM-DD and YYYY-MM strings, in UTC: no time zone can shift a day.

const parts = (day: string) => day.split("-").map(Number) as [number, number, number];

/** The UTC calendar day of an instant. */
export const utcDay = (at: Date | number) => new Date(at).toISOString().slice(0, 10);

export function addDays(day: string, n: number): string {
  const [y, m, d] = parts(day);
  return utcDay(Date.UTC(y, m - 1, d + n));
}

export function nextPeriod(period: string): string {
  const [y, m] = period.split("-").map(Number) as [number, number];
  return m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, "0")}`;
}

/** A period's due date for a day of the month (1-28, so every month has it). */
export const dueDate = (period: string, dayOfMonth: number) => `${period}-${String(dayOfMonth).padStart(2, "0")}`;

/** The first period whose due date is on or after `day`. */
export function firstPeriodFrom(day: string, dayOfMonth: number): string {
  const period = day.slice(0, 7);
  return dueDate(period, dayOfMonth) >= day ? period : nextPeriod(period);
}

export const laterDay = (a: string, b: string) => (a >= b ? a : b);
