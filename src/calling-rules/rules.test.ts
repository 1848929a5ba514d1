// The calling rules as the scheduled-call listing and the dispatcher apply them to stored rows.
// Zones were checked when written, but a stored zone can outlive the ICU data that checked it (a
// Node upgrade that drops a name): the rules must not throw on one.
import { describe, expect, it } from 'vitest';
import { type ClaimedCallRules, dispatchAt, dispatchGate, UNKNOWN_ZONE_REASON } from './rules.ts';
import type { CallingWindow } from './window.ts';

// Wednesday 2026-12-02 12:00 UTC.
const now = new Date('2026-12-02T12:00:00Z');
// Weekdays 09:00–17:00 in Tokyo (UTC+9): closed at 21:00 local, opens Thursday 00:00Z.
const tokyo: CallingWindow = {
  time_zone: 'Asia/Tokyo',
  days: [1, 2, 3, 4, 5],
  start_minute: 540,
  end_minute: 1020,
};
const thursdayNineTokyo = new Date('2026-12-03T00:00:00Z');
const pending = (recipient_time_zone: string | null) => ({
  status: 'pending' as const,
  next_attempt_at: now,
  dispatched_at: null,
  recipient_time_zone,
});
const claimed = (recipient: string | null, window: CallingWindow): ClaimedCallRules => ({
  on_do_not_call: false,
  recipient_time_zone: recipient,
  window_time_zone: window.time_zone,
  window_days: [...window.days],
  window_start_minute: window.start_minute,
  window_end_minute: window.end_minute,
});

describe('a stored zone Intl no longer knows', () => {
  it("a recipient's: the window's own zone applies, in the listing and at dispatch", () => {
    expect(dispatchAt(pending('Mars/Olympus_Mons'), tokyo, now)).toEqual(thursdayNineTokyo);
    expect(dispatchGate(claimed('Mars/Olympus_Mons', tokyo), now)).toEqual({
      kind: 'defer',
      until: thursdayNineTokyo,
      window: tokyo,
    });
  });

  it("the window's: no dispatch time is shown and the call is not placed", () => {
    const lost = { ...tokyo, time_zone: 'Mars/Olympus_Mons' };
    expect(dispatchAt(pending(null), lost, now)).toBeNull();
    expect(dispatchGate(claimed(null, lost), now)).toEqual({
      kind: 'refuse',
      reason: UNKNOWN_ZONE_REASON,
    });
    // A known recipient zone still gives the window a clock.
    expect(dispatchAt(pending('Asia/Tokyo'), lost, now)).toEqual(thursdayNineTokyo);
  });

  it('known zones are used as before', () => {
    expect(dispatchAt(pending(null), tokyo, now)).toEqual(thursdayNineTokyo);
    // 12:00Z is 07:00 in New York: the window's hours in the recipient's zone open at 14:00Z.
    expect(dispatchAt(pending('America/New_York'), tokyo, now)).toEqual(
      new Date('2026-12-02T14:00:00Z'),
    );
  });
});
