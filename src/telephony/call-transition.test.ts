import { describe, expect, it } from 'vitest';
import { callTransition } from './call-transition.ts';

const at = new Date('2026-01-01T12:00:00Z');

describe('call status transitions', () => {
  it('moves forward and records when the call was answered and ended', () => {
    expect(
      callTransition({ status: 'ringing', answered_at: null }, { status: 'in-progress', at }),
    ).toEqual({
      status: 'in-progress',
      answered_at: at,
    });
    const answered = new Date('2026-01-01T11:59:00Z');
    expect(
      callTransition(
        { status: 'in-progress', answered_at: answered },
        { status: 'completed', durationSeconds: 60, at },
      ),
    ).toEqual({ status: 'completed', ended_at: at, duration_seconds: 60 });
  });

  it('never moves backwards, and a finished call stays finished', () => {
    expect(
      callTransition({ status: 'in-progress', answered_at: at }, { status: 'ringing', at }),
    ).toBeNull();
    expect(
      callTransition({ status: 'completed', answered_at: at }, { status: 'in-progress', at }),
    ).toBeNull();
    expect(
      callTransition({ status: 'busy', answered_at: null }, { status: 'completed', at }),
    ).toBeNull();
    expect(
      callTransition({ status: 'ringing', answered_at: null }, { status: 'ringing', at }),
    ).toBeNull();
  });

  it('a completed call without an in-progress callback was answered duration seconds before', () => {
    expect(
      callTransition(
        { status: 'ringing', answered_at: null },
        { status: 'completed', durationSeconds: 30, at },
      ),
    ).toEqual({
      status: 'completed',
      ended_at: at,
      duration_seconds: 30,
      answered_at: new Date('2026-01-01T11:59:30Z'),
    });
  });

  it('no-answer, busy and failed end the call unanswered', () => {
    for (const status of ['no-answer', 'busy', 'failed', 'canceled'] as const) {
      expect(
        callTransition(
          { status: 'ringing', answered_at: null },
          { status, durationSeconds: 0, at },
        ),
      ).toEqual({ status, ended_at: at, duration_seconds: 0 });
    }
  });
});
