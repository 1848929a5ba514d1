import { describe, expect, it } from 'vitest';
import { formatMs } from './format.ts';

describe('formatMs', () => {
  it('shows minutes and seconds under an hour', () => {
    expect(formatMs(0)).toBe('0:00');
    expect(formatMs(7_000)).toBe('0:07');
    expect(formatMs(83_000)).toBe('1:23');
    expect(formatMs(3_599_000)).toBe('59:59');
  });

  it('shows hours, minutes and seconds from an hour on', () => {
    expect(formatMs(3_600_000)).toBe('1:00:00');
    expect(formatMs(5_000_000)).toBe('1:23:20');
    expect(formatMs(36_061_000)).toBe('10:01:01');
  });

  it('rounds to the nearest second, carrying into the minutes and hours', () => {
    expect(formatMs(59_600)).toBe('1:00');
    expect(formatMs(3_599_500)).toBe('1:00:00');
  });
});
