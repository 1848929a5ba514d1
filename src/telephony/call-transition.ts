// How a call row moves through Twilio's statuses. Callbacks may arrive late, twice or out of
// order: a status never moves a call backwards, and a finished call stays finished.
import type { Call, CallStatus } from '../db/schema.ts';

const RANK: Record<CallStatus, number> = {
  queued: 0,
  initiated: 1,
  ringing: 2,
  'in-progress': 3,
  completed: 4,
  busy: 4,
  failed: 4,
  'no-answer': 4,
  canceled: 4,
};

export const CALL_STATUSES = Object.keys(RANK) as CallStatus[];

export function isCallStatus(s: unknown): s is CallStatus {
  return typeof s === 'string' && Object.hasOwn(RANK, s);
}

export function isFinal(s: CallStatus): boolean {
  return RANK[s] === 4;
}

export type CallPatch = Partial<
  Pick<Call, 'status' | 'answered_at' | 'ended_at' | 'duration_seconds'>
>;

/** The change an event makes to a call, or null when it changes nothing. */
export function callTransition(
  current: Pick<Call, 'status' | 'answered_at'>,
  event: { status: CallStatus; durationSeconds?: number; at: Date },
): CallPatch | null {
  if (RANK[event.status] <= RANK[current.status]) return null;
  const patch: CallPatch = { status: event.status };
  if (event.status === 'in-progress' && !current.answered_at) patch.answered_at = event.at;
  if (isFinal(event.status)) {
    patch.ended_at = event.at;
    if (event.durationSeconds !== undefined) patch.duration_seconds = event.durationSeconds;
    // "completed" means answered then ended, even when the in-progress callback never came.
    if (event.status === 'completed' && !current.answered_at) {
      patch.answered_at = new Date(event.at.getTime() - (event.durationSeconds ?? 0) * 1000);
    }
  }
  return patch;
}
