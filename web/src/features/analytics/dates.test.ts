import { describe, expect, it } from 'vitest';
import { analyticsWindow } from './dates.ts';

describe('analyticsWindow', () => {
  const evening = new Date(2026, 2, 10, 23, 59);
  const nextMorning = new Date(2026, 2, 11, 0, 1);

  it('defaults to the last 30 days up to today, as of when it is asked', () => {
    expect(analyticsWindow({ from: '', to: '' }, evening)).toEqual({
      from: '2026-02-09',
      to: '2026-03-10',
    });
    // The same filters a minute after midnight: the window has moved on.
    expect(analyticsWindow({ from: '', to: '' }, nextMorning)).toEqual({
      from: '2026-02-10',
      to: '2026-03-11',
    });
  });

  it('keeps the days it is given', () => {
    expect(analyticsWindow({ from: '2026-01-05', to: '2026-01-20' }, evening)).toEqual({
      from: '2026-01-05',
      to: '2026-01-20',
    });
  });

  it('fills one empty end: up to today, or 30 days up to the given last day', () => {
    expect(analyticsWindow({ from: '2026-03-01', to: '' }, evening)).toEqual({
      from: '2026-03-01',
      to: '2026-03-10',
    });
    expect(analyticsWindow({ from: '', to: '2026-01-30' }, evening)).toEqual({
      from: '2026-01-01',
      to: '2026-01-30',
    });
  });
});
