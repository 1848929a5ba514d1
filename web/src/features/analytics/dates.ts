// Calendar dates (YYYY-MM-DD) for the analytics window, in the browser's time zone.

const DAY_MS = 86_400_000;

/** The browser's IANA time zone (the server buckets calls by it). */
export function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/** Today's date in the browser's time zone. */
export function localToday(now = new Date()): string {
  const y = now.getFullYear();
  const m = String(now.getMonth() + 1).padStart(2, '0');
  const d = String(now.getDate()).padStart(2, '0');
  return `${y}-${m}-${d}`;
}

/** date + n days (n may be negative). */
export function addDays(date: string, n: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);
}

/**
 * The days a filter asks for, as of `now`: its own, or where one is empty ('') the default's —
 * up to today, 30 days long. Computed when used, never kept: a page open over midnight moves on.
 */
export function analyticsWindow(
  days: { from: string; to: string },
  now = new Date(),
): { from: string; to: string } {
  const to = days.to || localToday(now);
  return { from: days.from || addDays(to, -29), to };
}

function asUtc(date: string): Date {
  return new Date(`${date}T00:00:00Z`);
}

/** "1 Nov" (in the user's locale). */
export function shortDay(date: string): string {
  return asUtc(date).toLocaleDateString(undefined, {
    day: 'numeric',
    month: 'short',
    timeZone: 'UTC',
  });
}

/** "Sat, 1 Nov 2025" (in the user's locale). */
export function longDay(date: string): string {
  return asUtc(date).toLocaleDateString(undefined, {
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    timeZone: 'UTC',
  });
}

/** "1 Nov–30 Nov" (a single day when from = to). */
export function rangeText(from: string, to: string): string {
  return from === to ? shortDay(from) : `${shortDay(from)}–${shortDay(to)}`;
}

/** "09:00" for hour 9. */
export function hourText(hour: number): string {
  return `${String(hour).padStart(2, '0')}:00`;
}
