// The live-call quota at its two issue points and its end event. An incoming call takes its slot
// when its TwiML would hand out a media token (and may use the share reserved for inbound); a
// scheduled call takes one at dispatch, before Twilio is asked to place it, together with one of
// the day's scheduled-call count. The live-call slot is released by Twilio's status callback once
// the call has ended (the day's count is kept until 00:00 UTC); an attempt that surely placed no
// call gives both back at once.
//
// A scheduled call's slots are leased per attempt (keyed by the attempt's dispatch key, which
// rides in its callback URLs), not per scheduled call: an attempt whose outcome is unknown (the
// request to Twilio timed out) may have placed a call that is live, and a retry after its lease
// ran out must neither renew that attempt's slot as its own (two live calls counted as one) nor
// give it back when it fails, and that call's end must not free the retry's slot. An unknown
// outcome stays open until the dispatcher's lease runs out: if no call was logged for the row by
// then, lease recovery decides the attempt placed nothing and puts the call back to be placed
// again (or fails it), and the attempt's live-call slot goes back with that decision
// (releaseUnplacedAttemptSlot): a request that timed out before Twilio took the call must not hold
// a slot for QUOTA_LEASE_SECONDS (a spell of timeouts would use up the org's capacity, inbound
// calls included). A call it placed after all, whose callbacks never came within the lease, then
// goes uncounted (it is the case where the call may be placed twice, dispatcher.ts); its ending
// callback releasing the slot again changes nothing.
import type { CallStatus } from '../db/schema.ts';
import { nextUtcMidnight, type Quotas } from './quotas.service.ts';

export const callLease = (callSid: string) => `call:${callSid}`;
/** One attempt's lease (dispatchKey: the key minted by its claim). */
export const dispatchLease = (scheduledCallId: string, dispatchKey: string) =>
  `sched:${scheduledCallId}:${dispatchKey}`;
/** The per-call lease of releases before per-attempt keys: only its release remains. */
const legacyDispatchLease = (scheduledCallId: string) => `sched:${scheduledCallId}`;

const ENDED: ReadonlySet<CallStatus> = new Set([
  'completed',
  'failed',
  'busy',
  'no-answer',
  'canceled',
]);

/** A status that ends a call: its live-call slot goes back. */
export const endsCall = (status: CallStatus): boolean => ENDED.has(status);

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
  p: { callSid: string; status: CallStatus; scheduledCallId?: string; dispatchKey?: string },
): Promise<void> {
  if (!quotas || !endsCall(p.status)) return;
  const ids = [callLease(p.callSid)];
  if (p.scheduledCallId) {
    ids.push(legacyDispatchLease(p.scheduledCallId));
    if (p.dispatchKey) ids.push(dispatchLease(p.scheduledCallId, p.dispatchKey));
  }
  await quotas.release(orgId, 'live_calls', ids);
}

export type DispatchSlot = { ok: true } | { ok: false; reason: string; retryAt: Date };

/**
 * Before an attempt places a scheduled call: a live-call slot (outbound: never the inbound share)
 * and one of today's scheduled calls, both leased to this attempt. Refused → the call waits
 * (QUOTA_DISPATCH_RETRY_SECONDS, or until 00:00 UTC for the day's count), is not failed and the
 * attempt does not count. A retry after an unknown outcome counts again on both (the earlier
 * attempt may have placed its call).
 */
export async function takeDispatchSlots(
  quotas: Quotas | undefined,
  orgId: string,
  scheduledCallId: string,
  dispatchKey: string,
): Promise<DispatchSlot> {
  if (!quotas) return { ok: true };
  const lease = dispatchLease(scheduledCallId, dispatchKey);
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

/**
 * Lease recovery found no call logged for this attempt, whose outcome was unknown, and holds that
 * it placed nothing (the call goes back to the queue, or fails): its live-call slot goes back. The
 * day's count stays (the request was made). Releasing an already released lease changes nothing.
 */
export async function releaseUnplacedAttemptSlot(
  quotas: Quotas | undefined,
  orgId: string,
  scheduledCallId: string,
  dispatchKey: string,
): Promise<void> {
  if (!quotas) return;
  await quotas.release(orgId, 'live_calls', [dispatchLease(scheduledCallId, dispatchKey)]);
}

/** The attempt surely placed no call (a retry or a failure): its two slots go back. */
export async function releaseDispatchSlots(
  quotas: Quotas | undefined,
  orgId: string,
  scheduledCallId: string,
  dispatchKey: string,
): Promise<void> {
  if (!quotas) return;
  const lease = [dispatchLease(scheduledCallId, dispatchKey)];
  await quotas.release(orgId, 'live_calls', lease);
  await quotas.release(orgId, 'scheduled_calls_per_day', lease);
}
