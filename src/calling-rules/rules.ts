// The calling rules as other capabilities apply them: scheduling a call (src/voice/scheduled-calls)
// checks the do-not-call list and the recipient's zone and shows when a call will go; the
// dispatcher (src/telephony/dispatcher.ts) asks the gate whether a claimed call may go now.
import type { OrgCallingWindow, ScheduledCall } from '../db/schema.ts';
import type { Tx } from '../db/tenant.ts';
import { AppError } from '../http/errors.ts';
import * as repo from './calling-rules.repository.ts';
import { type CallingWindow, canonicalTimeZone, nextWindowStart, parseClock } from './window.ts';

export interface CallingWindowInput {
  time_zone: string;
  days: number[];
  start: string;
  end: string;
}

export const DO_NOT_CALL_REASON = 'The number was added to the do-not-call list';
/** last_error of a call the dispatcher put off to the calling window's next opening. */
export const WINDOW_WAIT_REASON =
  'Outside the calling window: waiting for it to open (dispatch_at says when)';
export const UNKNOWN_ZONE_REASON =
  "The calling window's time zone is no longer known: set the window again";

function fieldError(field: string, message: string): AppError {
  return new AppError('validation_failed', 'The calling window is not valid', {
    errors: [{ field, message }],
  });
}

/** The window as stored, checked: a canonical zone, sorted distinct days, start before end. */
export function validateWindow(input: CallingWindowInput) {
  const time_zone = canonicalTimeZone(input.time_zone);
  if (!time_zone) throw fieldError('time_zone', 'must be an IANA time zone such as Europe/Berlin');
  const days = [...new Set(input.days)].sort((a, b) => a - b);
  if (days.length === 0 || days.some((d) => !Number.isInteger(d) || d < 1 || d > 7)) {
    throw fieldError('days', 'must list ISO weekdays 1 (Monday) to 7 (Sunday)');
  }
  const start = parseClock(input.start);
  if (start === null || start > 1439) throw fieldError('start', 'must be HH:MM, 00:00 to 23:59');
  const end = parseClock(input.end);
  if (end === null) throw fieldError('end', 'must be HH:MM, 00:01 to 24:00');
  if (end <= start) throw fieldError('end', 'must be after start');
  return { time_zone, days, start_minute: start, end_minute: end };
}

/** A recipient's zone on a scheduled call, canonicalised; 400 naming the field when unknown. */
export function validateRecipientZone(zone: string | null | undefined): string | null {
  if (zone === undefined || zone === null) return null;
  const canonical = canonicalTimeZone(zone);
  if (!canonical) {
    throw new AppError('validation_failed', 'The time zone is not valid', {
      errors: [
        { field: 'recipient_time_zone', message: 'must be an IANA time zone such as Asia/Tokyo' },
      ],
    });
  }
  return canonical;
}

/** Refuse a call to a listed number (scheduling): 409 number_on_do_not_call_list. */
export async function assertNotListed(tx: Tx, orgId: string, number: string): Promise<void> {
  if (await repo.isListed(tx, orgId, number)) {
    throw new AppError('number_on_do_not_call_list', undefined, {
      errors: [{ field: 'to', message: "is on the organization's do-not-call list" }],
    });
  }
}

/** The org's window, for the scheduled-call answers' dispatch_at. */
export async function findCallingWindow(
  tx: Tx,
  orgId: string,
): Promise<OrgCallingWindow | undefined> {
  const w = await repo.findWindow(tx, orgId);
  return w && { ...w, days: w.days.map(Number) };
}

/**
 * When a scheduled call will actually be placed: for a pending call, its due time (or now, when
 * it is already due) moved to the next opening of the window in the recipient's zone (or the
 * window's); being placed: now; placed: when it was. Null for a failed or cancelled call, and
 * for a pending one whose window's zone is no longer known (zoneToApply). The dispatcher's own
 * window deferral (window_deferred_until) is not read: it is the same opening while the window
 * stands, and is cleared when the window or the call changes.
 */
export function dispatchAt(
  call: Pick<ScheduledCall, 'status' | 'next_attempt_at' | 'dispatched_at' | 'recipient_time_zone'>,
  window: CallingWindow | undefined,
  now: Date,
): Date | null {
  if (call.status === 'dispatched') return call.dispatched_at;
  if (call.status === 'dispatching') return now;
  if (call.status !== 'pending') return null;
  const due = call.next_attempt_at > now ? call.next_attempt_at : now;
  if (!window) return due;
  const zone = zoneToApply(call.recipient_time_zone, window);
  return zone === null ? null : nextWindowStart(due, window, zone);
}

/**
 * The zone whose clock the window follows for a call: the recipient's, else the window's. Zones
 * are checked when written, but stored ones outlive the ICU data that checked them: a zone Intl
 * no longer knows (a Node upgrade) would throw out of the window arithmetic, a 500 on every
 * listing of the org's scheduled calls and a dispatcher that can never pass the call. A recipient
 * zone it does not know falls back to the window's; when the window's own is unknown too, null:
 * no local time can be computed, so the call must not be placed by guesswork.
 */
export function zoneToApply(recipient: string | null, window: CallingWindow): string | null {
  return (recipient && canonicalTimeZone(recipient)) || canonicalTimeZone(window.time_zone);
}

/** What the dispatcher reads with each claimed call (dispatch.repository.ts claimDueCalls). */
export interface ClaimedCallRules {
  on_do_not_call: boolean;
  recipient_time_zone: string | null;
  window_time_zone: string | null;
  window_days: number[] | null;
  window_start_minute: number | null;
  window_end_minute: number | null;
}

export type Gate =
  | { kind: 'go' }
  | { kind: 'refuse'; reason: string }
  | { kind: 'defer'; until: Date; window: CallingWindow };

/**
 * May a claimed call be placed now? A listed number: refused (cancelled, never placed). Outside
 * the window: deferred to its next opening (not failed, not an attempt), with the window that
 * decided it (the deferral holds only while that window does). Otherwise: go.
 */
export function dispatchGate(c: ClaimedCallRules, now: Date): Gate {
  if (c.on_do_not_call) return { kind: 'refuse', reason: DO_NOT_CALL_REASON };
  if (
    c.window_time_zone === null ||
    c.window_days === null ||
    c.window_start_minute === null ||
    c.window_end_minute === null
  ) {
    return { kind: 'go' };
  }
  const window: CallingWindow = {
    time_zone: c.window_time_zone,
    days: c.window_days.map(Number),
    start_minute: c.window_start_minute,
    end_minute: c.window_end_minute,
  };
  const zone = zoneToApply(c.recipient_time_zone, window);
  if (zone === null) return { kind: 'refuse', reason: UNKNOWN_ZONE_REASON };
  const opens = nextWindowStart(now, window, zone);
  if (opens === null) return { kind: 'refuse', reason: 'The calling window never opens' };
  return opens.getTime() <= now.getTime()
    ? { kind: 'go' }
    : { kind: 'defer', until: opens, window };
}
