// Calling-window arithmetic: plain days, week wrap, window edges, and daylight-saving time in zones
// that have it (America/New_York, Europe/Berlin) and one that does not (Asia/Tokyo).
import { describe, expect, it } from 'vitest';
import {
  type CallingWindow,
  canonicalTimeZone,
  formatClock,
  isInWindow,
  nextWindowStart,
  parseClock,
} from './window.ts';

const WEEKDAYS = [1, 2, 3, 4, 5];
const EVERY_DAY = [1, 2, 3, 4, 5, 6, 7];

function win(
  time_zone: string,
  start: string,
  end: string,
  days: number[] = EVERY_DAY,
): CallingWindow {
  return { time_zone, days, start_minute: parseClock(start)!, end_minute: parseClock(end)! };
}

const next = (at: string, w: CallingWindow, zone?: string) =>
  nextWindowStart(new Date(at), w, zone)?.toISOString() ?? null;

describe('a zone without DST (Asia/Tokyo, UTC+9)', () => {
  const w = win('Asia/Tokyo', '09:00', '20:00', WEEKDAYS);

  it('inside the window: the instant itself', () => {
    // Monday 2026-11-30 14:00 JST
    expect(next('2026-11-30T05:00:00.000Z', w)).toBe('2026-11-30T05:00:00.000Z');
  });

  it('before the start: today at the start', () => {
    // Monday 08:00 JST → Monday 09:00 JST
    expect(next('2026-11-29T23:00:00.000Z', w)).toBe('2026-11-30T00:00:00.000Z');
  });

  it('the end is exclusive, the start inclusive', () => {
    expect(isInWindow(new Date('2026-11-30T00:00:00.000Z'), w)).toBe(true); // 09:00
    expect(isInWindow(new Date('2026-11-30T10:59:59.000Z'), w)).toBe(true); // 19:59:59
    expect(isInWindow(new Date('2026-11-30T11:00:00.000Z'), w)).toBe(false); // 20:00
    // 20:00 Monday → 09:00 Tuesday
    expect(next('2026-11-30T11:00:00.000Z', w)).toBe('2026-12-01T00:00:00.000Z');
  });

  it('after Friday: Monday; a Saturday: Monday', () => {
    // Friday 2026-12-04 21:00 JST
    expect(next('2026-12-04T12:00:00.000Z', w)).toBe('2026-12-07T00:00:00.000Z');
    // Saturday 2026-12-05 10:00 JST
    expect(next('2026-12-05T01:00:00.000Z', w)).toBe('2026-12-07T00:00:00.000Z');
  });

  it('the local date, not the UTC date, picks the weekday', () => {
    // Sunday 2026-11-29 23:30 UTC is Monday 08:30 JST: Monday's window, not Sunday's.
    expect(next('2026-11-29T23:30:00.000Z', w)).toBe('2026-11-30T00:00:00.000Z');
  });

  it('a single day a week wraps to the next week', () => {
    const wednesdays = win('Asia/Tokyo', '10:00', '11:00', [3]);
    // Wednesday 2026-12-02 11:00 JST (closed) → Wednesday 2026-12-09 10:00 JST
    expect(next('2026-12-02T02:00:00.000Z', wednesdays)).toBe('2026-12-09T01:00:00.000Z');
  });

  it('24:00 closes at midnight; a window that never opens gives null', () => {
    const late = win('Asia/Tokyo', '22:00', '24:00');
    expect(isInWindow(new Date('2026-11-30T14:59:00.000Z'), late)).toBe(true); // 23:59
    expect(isInWindow(new Date('2026-11-30T15:00:00.000Z'), late)).toBe(false); // 00:00
    expect(nextWindowStart(new Date(), { ...late, days: [] })).toBeNull();
  });
});

describe('America/New_York: spring forward (2026-03-08 02:00 EST → 03:00 EDT)', () => {
  it('a start inside the gap opens when the clock jumps (03:00 EDT)', () => {
    const w = win('America/New_York', '02:30', '05:00');
    // Sunday 00:00 EST
    expect(next('2026-03-08T05:00:00.000Z', w)).toBe('2026-03-08T07:00:00.000Z');
    expect(isInWindow(new Date('2026-03-08T07:00:00.000Z'), w)).toBe(true);
  });

  it('a window wholly inside the gap does not open that day', () => {
    const w = win('America/New_York', '02:00', '03:00', [7]);
    // Sunday 2026-03-08 00:00 EST → the next Sunday, 02:00 EDT
    expect(next('2026-03-08T05:00:00.000Z', w)).toBe('2026-03-15T06:00:00.000Z');
  });

  it('a start after the jump uses the new offset (09:00 EDT = 13:00Z)', () => {
    const w = win('America/New_York', '09:00', '17:00');
    // Saturday 2026-03-07 20:00 EST
    expect(next('2026-03-08T01:00:00.000Z', w)).toBe('2026-03-08T13:00:00.000Z');
    // and the day before, EST: 09:00 = 14:00Z
    expect(next('2026-03-07T04:00:00.000Z', w)).toBe('2026-03-07T14:00:00.000Z');
  });
});

describe('America/New_York: fall back (2026-11-01 02:00 EDT → 01:00 EST)', () => {
  const w = win('America/New_York', '01:30', '03:00');

  it('a start inside the repeated hour opens at its first occurrence', () => {
    // Sunday 00:00 EDT → 01:30 EDT
    expect(next('2026-11-01T04:00:00.000Z', w)).toBe('2026-11-01T05:30:00.000Z');
  });

  it('both occurrences of a local time are inside', () => {
    expect(isInWindow(new Date('2026-11-01T05:45:00.000Z'), w)).toBe(true); // 01:45 EDT
    expect(isInWindow(new Date('2026-11-01T06:45:00.000Z'), w)).toBe(true); // 01:45 EST
    expect(next('2026-11-01T06:45:00.000Z', w)).toBe('2026-11-01T06:45:00.000Z');
  });

  it('a start after the change uses the new offset (09:00 EST = 14:00Z)', () => {
    const day = win('America/New_York', '09:00', '17:00');
    expect(next('2026-11-01T02:00:00.000Z', day)).toBe('2026-11-01T14:00:00.000Z');
  });
});

describe('Europe/Berlin', () => {
  it('spring forward (2026-03-29 02:00 CET → 03:00 CEST): a start in the gap opens at 03:00', () => {
    const w = win('Europe/Berlin', '02:00', '04:00', [7]);
    // Sunday 00:30 CET
    expect(next('2026-03-28T23:30:00.000Z', w)).toBe('2026-03-29T01:00:00.000Z');
  });

  it('fall back (2026-10-25 03:00 CEST → 02:00 CET): the repeated hour opens twice', () => {
    const w = win('Europe/Berlin', '02:15', '02:45');
    // Sunday 01:00 CEST → 02:15 CEST
    expect(next('2026-10-24T23:00:00.000Z', w)).toBe('2026-10-25T00:15:00.000Z');
    // 02:50 CEST, after the first occurrence: the second 02:15 (CET) the same night
    expect(next('2026-10-25T00:50:00.000Z', w)).toBe('2026-10-25T01:15:00.000Z');
  });

  it('fall back reopens a window the clock turns back into', () => {
    const w = win('Europe/Berlin', '01:00', '02:30');
    // 02:40 CEST is past the end; at 01:00Z the clock reads 02:00 CET, inside again
    expect(next('2026-10-25T00:40:00.000Z', w)).toBe('2026-10-25T01:00:00.000Z');
  });

  it('winter and summer hours differ in UTC', () => {
    const w = win('Europe/Berlin', '09:00', '18:00', WEEKDAYS);
    // Monday 2026-01-05 07:00 CET → 08:00Z; Monday 2026-07-06 07:00 CEST → 07:00Z
    expect(next('2026-01-05T06:00:00.000Z', w)).toBe('2026-01-05T08:00:00.000Z');
    expect(next('2026-07-06T05:00:00.000Z', w)).toBe('2026-07-06T07:00:00.000Z');
  });
});

describe("the recipient's zone", () => {
  it("applies the window's hours in the recipient's zone", () => {
    const w = win('America/New_York', '09:00', '17:00');
    // 2026-11-30 14:00Z: 09:00 in New York (open), 23:00 in Tokyo (closed)
    expect(next('2026-11-30T14:00:00.000Z', w)).toBe('2026-11-30T14:00:00.000Z');
    expect(next('2026-11-30T14:00:00.000Z', w, 'Asia/Tokyo')).toBe('2026-12-01T00:00:00.000Z');
  });
});

describe('time zone names and clock times', () => {
  it('takes IANA names, canonicalised; refuses offsets and unknown names', () => {
    expect(canonicalTimeZone('Europe/Berlin')).toBe('Europe/Berlin');
    expect(canonicalTimeZone('UTC')).toBe('UTC');
    expect(canonicalTimeZone('america/new_york')).toBe('America/New_York');
    expect(canonicalTimeZone('Mars/Olympus_Mons')).toBeNull();
    expect(canonicalTimeZone('+02:00')).toBeNull();
    expect(canonicalTimeZone('')).toBeNull();
    expect(canonicalTimeZone('Europe/../etc/passwd')).toBeNull();
    expect(canonicalTimeZone('A'.repeat(65))).toBeNull();
  });

  it('parses HH:MM from 00:00 to 24:00', () => {
    expect(parseClock('00:00')).toBe(0);
    expect(parseClock('09:30')).toBe(570);
    expect(parseClock('24:00')).toBe(1440);
    for (const bad of ['24:01', '9:00', '09:60', '25:00', '0900', '']) {
      expect(parseClock(bad), bad).toBeNull();
    }
    expect(formatClock(570)).toBe('09:30');
    expect(formatClock(1440)).toBe('24:00');
  });
});
