// The live-call quota at its two issue points and its end event. An incoming call takes its slot
// when its TwiML would hand out a media token (and may use the share reserved for inbound); a
// scheduled call takes one at dispatch, before Twilio is asked to place it, together with one of
// the day's scheduled-call count. Both are released by Twilio's status callback once the call
// has ended; a retry that never placed the call gives both back at once.
import type { CallStatus } from '../db/schema.ts';
import { nextUtcMidnight, type Quotas } from './quotas.service.ts';

export const callLease = (callSid: string) => `call:${callSid}`;
export const dispatchLease = (scheduledCallId: string) => `sched:${scheduledCallId}`;

const ENDED: ReadonlySet<CallStatus> = new Set([
  'completed',
  'failed',
  'busy',
  'no-answer',
  'canceled',
]);

/** An incoming call's slot (idempotent under Twilio's retries of the same CallSid). */
export async function takeIncomingCallSlot(
  quotas: Quotas | undefined,
  orgId: string,
  callSid: string,
): Promise<boolean> {
  if (!quotas) return true;
  return (await quotas.acquire(orgId, 'live_calls', callLease(callSid), { inbound: true })).ok;
}

/** An incoming call's slot, given back at once (the call ended while the slot was taken). */
export async function releaseIncomingCallSlot(
  quotas: Quotas | undefined,
  orgId: string,
  callSid: string,
): Promise<void> {
  if (!quotas) return;
  await quotas.release(orgId, 'live_calls', [callLease(callSid)]);
}

/** The status callback: a call that ended gives its slot back (a repeat changes nothing). */
export async function releaseCallSlot(
  quotas: Quotas | undefined,
  orgId: string,
  p: { callSid: string; status: CallStatus; scheduledCallId?: string },
): Promise<void> {
  if (!quotas || !ENDED.has(p.status)) return;
  const ids = [callLease(p.callSid)];
  if (p.scheduledCallId) ids.push(dispatchLease(p.scheduledCallId));
  await quotas.release(orgId, 'live_calls', ids);
}

export type DispatchSlot = { ok: true } | { ok: false; reason: string; retryAt: Date };

/**
 * Before a scheduled call is placed: a live-call slot (outbound: never the inbound share) and one
 * of today's scheduled calls. Refused → the call waits (QUOTA_DISPATCH_RETRY_SECONDS, or until
 * 00:00 UTC for the day's count), is not failed and the attempt does not count.
 */
export async function takeDispatchSlots(
  quotas: Quotas | undefined,
  orgId: string,
  scheduledCallId: string,
): Promise<DispatchSlot> {
  if (!quotas) return { ok: true };
  const lease = dispatchLease(scheduledCallId);
  const now = quotas.now();
  const live = await quotas.acquire(orgId, 'live_calls', lease);
  if (!live.ok) {
    return {
      ok: false,
      reason: `Waiting for a free call slot: ${live.live} of ${live.limit} outbound live calls in use`,
      retryAt: new Date(now + quotas.dispatchRetrySeconds * 1000),
    };
  }
  const midnight = nextUtcMidnight(now);
  const today = await quotas.acquire(orgId, 'scheduled_calls_per_day', lease, {
    expiresAt: midnight,
  });
  if (!today.ok) {
    await quotas.release(orgId, 'live_calls', [lease]);
    return {
      ok: false,
      reason: `Daily limit of ${today.limit} scheduled calls reached; waiting until 00:00 UTC`,
      retryAt: new Date(midnight),
    };
  }
  return { ok: true };
}

/** The call was not placed (a retry or a failure): both slots go back. */
export async function releaseDispatchSlots(
  quotas: Quotas | undefined,
  orgId: string,
  scheduledCallId: string,
): Promise<void> {
  if (!quotas) return;
  const lease = [dispatchLease(scheduledCallId)];
  await quotas.release(orgId, 'live_calls', lease);
  await quotas.release(orgId, 'scheduled_calls_per_day', lease);
}
