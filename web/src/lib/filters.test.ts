import { describe, expect, it } from 'vitest';
import { DAY_RANGE_REFUSED, dayRangeRefusal } from './filters.ts';

describe('dayRangeRefusal', () => {
  it('refuses a range whose last day is before its first', () => {
    expect(dayRangeRefusal('2026-03-10', '2026-03-01')).toBe(DAY_RANGE_REFUSED);
    expect(dayRangeRefusal('2026-03-10', '2026-03-09')).toBe(DAY_RANGE_REFUSED);
    expect(dayRangeRefusal('2026-01-01', '2025-12-31')).toBe(DAY_RANGE_REFUSED);
  });

  it('takes one day (first = last) and a range in order', () => {
    expect(dayRangeRefusal('2026-03-10', '2026-03-10')).toBeNull();
    expect(dayRangeRefusal('2026-03-01', '2026-03-10')).toBeNull();
    expect(dayRangeRefusal('2025-12-31', '2026-01-01')).toBeNull();
  });

  it('takes an open end (an empty bound is none)', () => {
    expect(dayRangeRefusal('', '2026-03-01')).toBeNull();
    expect(dayRangeRefusal('2026-03-10', '')).toBeNull();
    expect(dayRangeRefusal('', '')).toBeNull();
  });
});
