// Close reasons fit the close frame whatever text they quote.
import { describe, expect, it } from 'vitest';
import { closeReason, MAX_CLOSE_REASON_BYTES } from './close-reason.ts';

describe('closeReason', () => {
  it('keeps a short reason as it is', () => {
    expect(closeReason('try again later')).toBe('try again later');
    expect(closeReason('x'.repeat(123))).toBe('x'.repeat(123));
  });

  it.each([
    ['ASCII', 'x'.repeat(200), 'x'.repeat(123)],
    // 122 bytes of 2-byte characters, then one that would straddle the cut.
    ['2-byte characters', 'é'.repeat(100), 'é'.repeat(61)],
    [
      '3-byte characters',
      `unknown event type "${'€'.repeat(40)}"`,
      `unknown event type "${'€'.repeat(34)}`,
    ],
    ['4-byte characters', '🎙'.repeat(40), '🎙'.repeat(30)],
  ])('cuts %s at a character boundary, within 123 bytes', (_what, text, expected) => {
    const cut = closeReason(text);
    expect(cut).toBe(expected);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(MAX_CLOSE_REASON_BYTES);
    expect(cut).not.toContain('\uFFFD');
  });
});
