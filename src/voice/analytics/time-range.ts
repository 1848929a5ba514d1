// The analytics window: calendar dates in the caller's time zone. Time zones are checked against
// the IANA names the runtime knows before they reach SQL; dates are plain YYYY-MM-DD.
import { AppError } from '../../http/errors.ts';

const TZ_SHAPE = /^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+){0,2}$/;
const MAX_DAYS = 366;
const DAY_MS = 86_400_000;

export interface DateRange {
  from: string;
  to: string;
  /**
   * The zone the figures were computed in, echoed in answers: the IANA name the given one resolves
   * to (`america/new_york` is `America/New_York`, `Etc/UTC` is `UTC`), as scheduled calls store it.
   */
  tz: string;
  /** The same zone as SQL is told it (sqlZone). */
  zone: string;
}

function invalid(field: string, message: string): AppError {
  return new AppError('validation_failed', `The ${field} parameter is not valid`, {
    errors: [{ field, message }],
  });
}

export function isTimeZone(tz: string): boolean {
  if (tz.length > 64 || !TZ_SHAPE.test(tz)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * The zone's name for PostgreSQL, or null. PostgreSQL reads a name in its abbreviation table
 * before its zone names: `CET`, `EET`, `MET` and `WET` are zones with summer time to Intl (links to
 * Europe/Brussels, Europe/Athens, Europe/Lisbon) but fixed offsets to PostgreSQL, so calls were
 * bucketed an hour off for half the year. SQL gets the region name Intl resolves the zone to; a
 * resolved name that is still not a region (an older ICU's `CET`), UTC aside, is refused rather
 * than misread.
 */
export function sqlZone(tz: string): string | null {
  if (!isTimeZone(tz)) return null;
  const resolved = new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone;
  return resolved === 'UTC' || resolved.includes('/') ? resolved : null;
}

/** Today's calendar date in tz, as YYYY-MM-DD. */
function today(tz: string, now: Date): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone: tz,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(now);
}

const FIRST_DAY = '0001-01-01';

function dayNumber(date: string): number {
  return Date.parse(`${date}T00:00:00Z`) / DAY_MS;
}

function fromDayNumber(n: number): string {
  return new Date(n * DAY_MS).toISOString().slice(0, 10);
}

/** Defaults: the last 30 days up to today in tz (UTC when no tz is given). */
export function resolveRange(
  q: { from?: string; to?: string; tz?: string },
  now = new Date(),
): DateRange {
  const tz = q.tz ?? 'UTC';
  const zone = sqlZone(tz);
  if (zone === null) {
    throw invalid('tz', 'is not a known IANA time zone (a region name such as Europe/Paris)');
  }
  const to = q.to ?? today(tz, now);
  const from = q.from ?? fromDayNumber(dayNumber(to) - 29);
  // The schema checked the shape; a date like 2026-02-30 passes the shape but not the calendar.
  for (const [field, date] of [
    ['from', from],
    ['to', to],
  ] as const) {
    if (Number.isNaN(dayNumber(date)) || fromDayNumber(dayNumber(date)) !== date) {
      throw invalid(field, 'is not a calendar date');
    }
  }
  // PostgreSQL's calendar has no year 0: a window (a default one too) starts in year 1 at the
  // earliest (the schema refuses a given date in year 0000).
  if (dayNumber(from) < dayNumber(FIRST_DAY))
    throw invalid('from', `must not be before ${FIRST_DAY}`);
  const days = dayNumber(to) - dayNumber(from) + 1;
  if (days < 1) throw invalid('from', 'must not be after to');
  if (days > MAX_DAYS) throw invalid('from', `the range may span at most ${MAX_DAYS} days`);
  return { from, to, tz: zone, zone };
}
