import { describe, expect, it } from 'vitest';
import { onStopSignal, SAME_PRESS_MS } from './shutdown-signals.ts';

describe('onStopSignal', () => {
  it('the first SIGTERM or SIGINT starts the drain', () => {
    expect(onStopSignal('SIGTERM', null, 5)).toBe('drain');
    expect(onStopSignal('SIGINT', null, 5)).toBe('drain');
  });

  it('a repeated SIGTERM leaves the drain in charge, however late', () => {
    expect(onStopSignal('SIGTERM', 0, 1)).toBe('ignore');
    expect(onStopSignal('SIGTERM', 0, 60_000)).toBe('ignore');
  });

  it("the echo of one Ctrl-C (the terminal's and npm's forwarded copy) is not a second press", () => {
    expect(onStopSignal('SIGINT', 1_000, 1_000)).toBe('ignore');
    expect(onStopSignal('SIGINT', 1_000, 1_000 + SAME_PRESS_MS - 1)).toBe('ignore');
  });

  it('a second Ctrl-C pressed later exits at once', () => {
    expect(onStopSignal('SIGINT', 1_000, 1_000 + SAME_PRESS_MS)).toBe('exit_now');
    expect(onStopSignal('SIGINT', 0, 14_000)).toBe('exit_now');
  });
});
