// The voice-session quota. A room token takes a slot as it is issued (refused at the limit:
// 429 quota_exceeded) and holds it for ISSUED_HOLD_SECONDS: a token nobody joins with (every
// login mints one) gives its slot back by itself. LiveKit's participant_joined extends the hold to
// QUOTA_LEASE_SECONDS; participant_left, room_finished and revocation release it.
import { AppError } from '../http/errors.ts';
import type { Quotas } from './quotas.service.ts';

export const ISSUED_HOLD_SECONDS = 120;

const lease = (sessionId: string) => `vs:${sessionId}`;

/** Before a room token is minted: a slot for its session, or 429 quota_exceeded. */
export async function takeVoiceSlot(
  quotas: Quotas | undefined,
  orgId: string,
  sessionId: string,
): Promise<void> {
  if (!quotas) return;
  const d = await quotas.acquire(orgId, 'voice_sessions', lease(sessionId), {
    expiresAt: quotas.now() + ISSUED_HOLD_SECONDS * 1000,
  });
  if (!d.ok) {
    throw new AppError(
      'quota_exceeded',
      `The organization has ${d.live} of ${d.limit} concurrent voice sessions in use`,
      { quota: 'voice_sessions', limit: d.limit, headers: { 'Retry-After': '30' } },
    );
  }
}

/**
 * The participant joined: hold the slot as long as a call may last (a renewal of the slot taken at
 * issue). False when the org is at its limit without this session: its slot was given back (the
 * participant left and rejoins with the same token) or its issue-time hold lapsed before the join,
 * and others took the room meanwhile.
 */
export async function holdVoiceSlot(
  quotas: Quotas | undefined,
  orgId: string,
  sessionId: string,
): Promise<boolean> {
  if (!quotas) return true;
  return (await quotas.acquire(orgId, 'voice_sessions', lease(sessionId))).ok;
}

/** The sessions ended (left, room finished, revoked): their slots go back. */
export async function releaseVoiceSlots(
  quotas: Quotas | undefined,
  orgId: string,
  sessionIds: readonly string[],
): Promise<void> {
  if (!quotas || sessionIds.length === 0) return;
  await quotas.release(orgId, 'voice_sessions', sessionIds.map(lease));
}
