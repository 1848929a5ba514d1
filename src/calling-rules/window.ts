// Calling-window arithmetic: pure functions over instants, an IANA time zone and a weekly window
// of local days and hours. No database, no clock: callers pass `now`.
//
// The window is [start, end) in local wall-clock time on the allowed ISO weekdays (1 = Monday …
// 7 = Sunday). Daylight-saving time, by the local clock of each instant:
// - a spring-forward gap: a start inside the gap (02:30 on the night New York skips 02:00-03:00)
//   opens the window at the first instant whose local time is past it (03:00 local);
// - a fall-back overlap: a start inside the repeated hour opens at its first occurrence; an
//   instant of either occurrence is in the window when its local time is;
// - a window whose hours all fall into a gap does not open that day.
// Time zones come from Intl (the ICU database Node ships); no package is needed.

export interface CallingWindow {
  /** IANA time zone name, e.g. "America/New_York". */
  time_zone: string;
  /** ISO weekdays, 1 = Monday … 7 = Sunday. */
  days: readonly number[];
  /** Minutes after local midnight, 0 … 1439. */
  start_minute: number;
  /** Minutes after local midnight, 1 … 1440 (24:00 = end of the day); after start_minute. */
  end_minute: number;
}

const DAY_MS = 86_400_000;
const formats = new Map<string, Intl.DateTimeFormat>();

function formatFor(zone: string): Intl.DateTimeFormat {
  let f = formats.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formats.set(zone, f);
  }
  return f;
}

/**
 * The canonical name of an IANA time zone, or null when Intl does not know it. Offsets ("+02:00")
 * and abbreviations ("EST" aside, which IANA itself lists) are refused: a zone must follow DST.
 */
export function canonicalTimeZone(zone: string): string | null {
  if (zone.length === 0 || zone.length > 64) return null;
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(zone)) return null;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

interface Local {
  year: number;
  month: number;
  day: number;
  /** Minutes after local midnight. */
  minute: number;
  /** ISO weekday of the local date. */
  weekday: number;
  /** The local wall-clock time read as if it were UTC, in ms: comparable between instants. */
  wall: number;
}

function local(ms: number, zone: string): Local {
  const parts: Record<string, number> = {};
  for (const p of formatFor(zone).formatToParts(new Date(ms))) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  const year = parts.year!;
  const month = parts.month!;
  const day = parts.day!;
  const hour = parts.hour!;
  const minute = parts.minute!;
  const wall = Date.UTC(year, month - 1, day, hour, minute, parts.second!);
  const dow = new Date(Date.UTC(year, month - 1, day)).getUTCDay();
  return { year, month, day, minute: hour * 60 + minute, weekday: dow === 0 ? 7 : dow, wall };
}

/** Local time minus UTC at an instant, in ms (whole seconds: the formatter's precision). */
function offsetAt(ms: number, zone: string): number {
  const whole = Math.floor(ms / 1000) * 1000;
  return local(whole, zone).wall - whole;
}

/**
 * The instants whose local wall-clock time is `wall` (a local date and time read as UTC), earliest
 * first: one when that time exists once, two in a fall-back overlap, and the end of the gap (the
 * first instant past it) when it was skipped.
 */
function instantsAt(wall: number, zone: string): number[] {
  const before = wall - offsetAt(wall - DAY_MS, zone);
  const after = wall - offsetAt(wall + DAY_MS, zone);
  const exact = [...new Set([before, after, wall - offsetAt(wall, zone)])]
    .filter((t) => local(t, zone).wall === wall)
    .sort((x, y) => x - y);
  if (exact.length > 0) return exact;
  // A gap: local time jumps over `wall` somewhere between the two candidates. Search for the
  // first instant past it (to the second; offsets change on whole seconds).
  let lo = Math.min(before, after);
  let hi = Math.max(before, after);
  while (hi - lo > 1000) {
    const mid = Math.floor((lo + hi) / 2000) * 1000;
    if (local(mid, zone).wall >= wall) hi = mid;
    else lo = mid;
  }
  return [local(lo, zone).wall >= wall ? lo : hi];
}

/** The first offset change in (from, from + 36 h], or null: where a fall-back may reopen a window. */
function nextTransition(from: number, zone: string): number | null {
  const base = offsetAt(from, zone);
  let hi = from + 1.5 * DAY_MS;
  if (offsetAt(hi, zone) === base) return null;
  let lo = Math.floor(from / 1000) * 1000;
  while (hi - lo > 1000) {
    const mid = Math.floor((lo + hi) / 2000) * 1000;
    if (offsetAt(mid, zone) === base) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** Is this instant inside the window, in `zone` (the recipient's, or the window's own)? */
export function isInWindow(at: Date, window: CallingWindow, zone = window.time_zone): boolean {
  const l = local(at.getTime(), zone);
  return (
    window.days.includes(l.weekday) &&
    l.minute >= window.start_minute &&
    l.minute < window.end_minute
  );
}

/**
 * The first instant at or after `at` when a call may be placed: `at` itself when it is inside the
 * window, otherwise the next opening of the window in `zone`. Null only for a window that never
 * opens (no days), which validation refuses.
 */
export function nextWindowStart(
  at: Date,
  window: CallingWindow,
  zone = window.time_zone,
): Date | null {
  if (window.days.length === 0) return null;
  if (isInWindow(at, window, zone)) return at;
  const from = at.getTime();
  const open = (t: number) => t >= from && isInWindow(new Date(t), window, zone);
  // A fall-back shortly after `at` may turn the clock back into today's window.
  const transition = nextTransition(from, zone);
  let best = transition !== null && open(transition) ? transition : null;
  const today = local(from, zone);
  // Two weeks covers every case: a day whose hours all fall into a DST gap is skipped.
  for (let i = 0; i <= 14; i++) {
    if (best !== null && i >= 2) break; // later days open later still
    const date = Date.UTC(today.year, today.month - 1, today.day + i);
    const dow = new Date(date).getUTCDay();
    if (!window.days.includes(dow === 0 ? 7 : dow)) continue;
    for (const t of instantsAt(date + window.start_minute * 60_000, zone)) {
      if (open(t) && (best === null || t < best)) best = t;
    }
  }
  return best === null ? null : new Date(best);
}

/** "HH:MM" (00:00 … 24:00) to minutes after midnight; null when malformed. */
export function parseClock(text: string): number | null {
  const m = /^([01][0-9]|2[0-4]):([0-5][0-9])$/.exec(text);
  if (!m) return null;
  const minutes = Number(m[1]) * 60 + Number(m[2]);
  return minutes <= 1440 ? minutes : null;
}

export function formatClock(minutes: number): string {
  const h = Math.floor(minutes / 60);
  return `${String(h).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}
