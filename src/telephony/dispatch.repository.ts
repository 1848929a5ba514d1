// The dispatcher's queue operations. Claiming and lease recovery cross orgs by nature (one queue
// for every org) and run on the system path; recording an attempt's outcome runs in the call's
// own org (withOrgService), keyed by the attempt's dispatch key so a stale attempt changes nothing.
import { sql } from 'kysely';
import { type ClaimedCallRules, WINDOW_WAIT_REASON } from '../calling-rules/rules.ts';
import type { CallingWindow } from '../calling-rules/window.ts';
import type { Tx } from '../db/tenant.ts';

/** With the org's calling rules as of the claim (its window, whether the number is listed). */
export interface ClaimedCall extends ClaimedCallRules {
  id: string;
  org_id: string;
  to_number: string;
  dispatch_key: string;
  attempts: number;
  agent_id: string;
  agent_owner_id: string;
  agent_direction: 'incoming' | 'outgoing';
  agent_usable: boolean;
  /** Whether the agent has a media stream: a call answered without one reaches no agent. */
  agent_streams: boolean;
  phone_id: string;
  phone_number: string;
  phone_owner_id: string;
  /** Not deleted, active and verified: the only numbers calls may be placed from. */
  phone_usable: boolean;
  account_sid: string | null;
  auth_token_enc: string | null;
  /** A call already logged for this scheduled call (by an earlier attempt's callbacks). */
  placed_call_sid: string | null;
}

/**
 * Claim up to `limit` due calls for this instance, in one statement: FOR UPDATE SKIP LOCKED makes
 * concurrent claimers (other instances) take disjoint rows; each claim mints a new dispatch key
 * and a lease. Returns what placing the call needs.
 */
export async function claimDueCalls(
  tx: Tx,
  limit: number,
  leaseSeconds: number,
): Promise<ClaimedCall[]> {
  const { rows } = await sql<ClaimedCall>`
    WITH claimed AS (
      UPDATE scheduled_calls sc
      SET status = 'dispatching', attempts = sc.attempts + 1, dispatch_key = gen_random_uuid(),
          lease_expires_at = now() + make_interval(secs => ${leaseSeconds}),
          window_deferred_until = NULL, updated_at = now()
      WHERE sc.id IN (
        SELECT id FROM scheduled_calls
        -- Due (next_attempt_at: the due time, a quota's wait, a retry's backoff) and past the
        -- window's deferral if any (greatest ignores a NULL; scheduled_calls_due_idx, 0027).
        WHERE status = 'pending' AND deleted_at IS NULL
          AND greatest(next_attempt_at, window_deferred_until) <= now()
          -- The kill switch: a suspended org's calls stay pending (paused, not failed).
          AND org_id NOT IN (SELECT id FROM orgs WHERE suspended_at IS NOT NULL)
        ORDER BY greatest(next_attempt_at, window_deferred_until)
        FOR UPDATE SKIP LOCKED
        LIMIT ${limit})
      RETURNING sc.*
    )
    SELECT claimed.id, claimed.org_id, claimed.to_number, claimed.dispatch_key, claimed.attempts,
           a.id AS agent_id, a.owner_id AS agent_owner_id, a.direction AS agent_direction,
           (a.active AND a.deleted_at IS NULL) AS agent_usable,
           (a.media_stream_url IS NOT NULL) AS agent_streams,
           p.id AS phone_id, p.number AS phone_number, p.owner_id AS phone_owner_id,
           -- Calls go out only from the org's own active, verified numbers: an unverified number
           -- may be another org's (caller-ID spoofing); the join keeps it in the call's org.
           (p.deleted_at IS NULL AND p.active AND p.verification_status = 'verified')
             AS phone_usable,
           cr.account_sid, cr.auth_token_enc,
           (SELECT c.call_sid FROM calls c WHERE c.scheduled_call_id = claimed.id
            ORDER BY c.id LIMIT 1) AS placed_call_sid,
           -- Calling rules (src/calling-rules/rules.ts dispatchGate), read in the claim itself: a
           -- number listed after the call was scheduled is refused here, at the root.
           EXISTS (SELECT 1 FROM do_not_call_numbers d
                   WHERE d.org_id = claimed.org_id AND d.number = claimed.to_number)
             AS on_do_not_call,
           claimed.recipient_time_zone,
           w.time_zone AS window_time_zone, w.days AS window_days,
           w.start_minute AS window_start_minute, w.end_minute AS window_end_minute
    FROM claimed
    JOIN agents a ON a.org_id = claimed.org_id AND a.id = claimed.agent_id
    JOIN phones p ON p.org_id = a.org_id AND p.id = a.phone_id
    LEFT JOIN org_twilio_credentials cr ON cr.org_id = claimed.org_id AND cr.deleted_at IS NULL
    LEFT JOIN org_calling_windows w ON w.org_id = claimed.org_id
  `.execute(tx);
  return rows;
}

/**
 * Why a lease ran out with nothing placed, as the row can know it: Twilio's answer to the request
 * never came or could not be read (timeout, reset, a body that is not Twilio's: the dispatcher's
 * log line names which), or the instance placing it stopped; and no callback came either.
 */
export const INTERRUPTED =
  "No outcome was recorded for the attempt and no callback arrived: Twilio's answer was lost or unreadable, or the instance placing the call stopped";

export interface RecoveredLease {
  id: string;
  org_id: string;
  /** 'dispatched' (a call was logged for the row), else 'pending' or 'failed': nothing placed. */
  status: string;
  /** The key of the attempt whose lease ran out (left on the row: its late callback settles it). */
  dispatch_key: string | null;
}

/**
 * Calls whose lease ran out (their instance died mid-dispatch, or its request to Twilio got no
 * answer). One with a logged call was placed: it is finished as dispatched. Any other goes back to
 * the queue — or fails once out of attempts: the dispatcher holds that the attempt placed nothing
 * (its live-call slot goes back, dispatcher.ts runOnce). The attempt's key is returned and kept on
 * the row, so that a callback of a call it placed after all still settles the row.
 */
export async function recoverExpiredLeases(
  tx: Tx,
  limit: number,
  maxAttempts: number,
): Promise<RecoveredLease[]> {
  const { rows } = await sql<RecoveredLease>`
    WITH expired AS (
      SELECT id FROM scheduled_calls
      WHERE status = 'dispatching' AND lease_expires_at < now()
      ORDER BY lease_expires_at
      FOR UPDATE SKIP LOCKED
      LIMIT ${limit}
    ), evidence AS (
      SELECT e.id, (SELECT c.call_sid FROM calls c WHERE c.scheduled_call_id = e.id
                    ORDER BY c.id LIMIT 1) AS placed
      FROM expired e
    )
    UPDATE scheduled_calls sc
    SET status = CASE WHEN ev.placed IS NOT NULL THEN 'dispatched'
                      WHEN sc.attempts >= ${maxAttempts} THEN 'failed'
                      ELSE 'pending' END,
        call_sid = coalesce(ev.placed, sc.call_sid),
        dispatched_at = CASE WHEN ev.placed IS NOT NULL THEN now() ELSE sc.dispatched_at END,
        last_error = CASE WHEN ev.placed IS NOT NULL THEN NULL ELSE ${INTERRUPTED} END,
        next_attempt_at = now(), lease_expires_at = NULL, updated_at = now()
    FROM evidence ev
    WHERE sc.id = ev.id
    RETURNING sc.id, sc.org_id, sc.status, sc.dispatch_key
  `.execute(tx);
  return rows;
}

function settle(tx: Tx, orgId: string, id: string, dispatchKey: string) {
  return tx
    .updateTable('scheduled_calls')
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .where('dispatch_key', '=', dispatchKey)
    .where('status', '=', 'dispatching');
}

/** False when this attempt no longer owns the row (a callback already settled it, or it lost its lease). */
export async function markDispatched(
  tx: Tx,
  orgId: string,
  id: string,
  dispatchKey: string,
  callSid: string,
): Promise<boolean> {
  const now = new Date();
  const res = await settle(tx, orgId, id, dispatchKey)
    .set({
      status: 'dispatched',
      call_sid: callSid,
      dispatched_at: now,
      lease_expires_at: null,
      last_error: null,
      updated_at: now,
    })
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/** True when the attempt holding `dispatchKey` has been settled as dispatched. */
export async function isDispatchedBy(
  tx: Tx,
  orgId: string,
  id: string,
  dispatchKey: string,
): Promise<boolean> {
  const row = await tx
    .selectFrom('scheduled_calls')
    .select('id')
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .where('dispatch_key', '=', dispatchKey)
    .where('status', '=', 'dispatched')
    .executeTakeFirst();
  return row !== undefined;
}

export async function markRetry(
  tx: Tx,
  orgId: string,
  id: string,
  dispatchKey: string,
  error: string,
  nextAttemptAt: Date,
): Promise<boolean> {
  const res = await settle(tx, orgId, id, dispatchKey)
    .set({
      status: 'pending',
      next_attempt_at: nextAttemptAt,
      lease_expires_at: null,
      last_error: error,
      updated_at: new Date(),
    })
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/**
 * Not now, but not a failure: refused by the org's quota (src/quotas/, with `reason`), the call
 * waits until `until` (its next attempt). Back to the queue; the claim's attempt is given back
 * (waiting is not a failed attempt); the dispatch key is cleared with the lease. A call outside
 * the calling window is put off by markWindowDeferred instead.
 */
export async function markDeferred(
  tx: Tx,
  orgId: string,
  id: string,
  dispatchKey: string,
  until: Date,
  reason?: string,
): Promise<boolean> {
  const res = await settle(tx, orgId, id, dispatchKey)
    .set((eb) => ({
      status: 'pending',
      attempts: eb('attempts', '-', 1),
      next_attempt_at: until,
      lease_expires_at: null,
      dispatch_key: null,
      ...(reason !== undefined ? { last_error: reason } : {}),
      updated_at: new Date(),
    }))
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/**
 * Outside the calling window: back to the queue until the window's next opening (`until`, from the
 * `window` the claim read), as markDeferred does, but in window_deferred_until: next_attempt_at
 * stays the call's due time, so the deferral goes with the window, not with the call. Setting or
 * removing the window clears the org's deferrals (calling-rules.repository.ts
 * clearWindowDeferrals), changing the call clears its own (updatePending). As markDeferred writes
 * the quota's reason, last_error says the call waits for the window (WINDOW_WAIT_REASON), not why
 * it waited before (a quota's wait, a failed attempt's backoff).
 *
 * A window changed since the claim read it must not leave a deferral of the old one behind: the
 * window's row is share-locked first (a change under way commits before this goes on, and one that
 * starts later waits for this commit, then clears the deferral), and the deferral is kept only if
 * the window is still the one it was computed from; otherwise the call is due again at once (the
 * next claim re-checks the window as it is) and last_error is left as it was, as releaseClaim
 * leaves it: nothing was decided.
 */
export async function markWindowDeferred(
  tx: Tx,
  orgId: string,
  id: string,
  dispatchKey: string,
  until: Date,
  window: CallingWindow,
): Promise<boolean> {
  await sql`SELECT 1 FROM org_calling_windows WHERE org_id = ${orgId} FOR SHARE`.execute(tx);
  const days = window.days.map(Number);
  const windowStands = sql<boolean>`EXISTS (
    SELECT 1 FROM org_calling_windows w
    WHERE w.org_id = ${orgId} AND w.time_zone = ${window.time_zone}
      AND w.days = ${days}::smallint[] AND w.start_minute = ${window.start_minute}
      AND w.end_minute = ${window.end_minute})`;
  const res = await settle(tx, orgId, id, dispatchKey)
    .set((eb) => ({
      status: 'pending',
      attempts: eb('attempts', '-', 1),
      window_deferred_until: sql<Date | null>`CASE WHEN ${windowStands}
        THEN ${until}::timestamptz END`,
      last_error: sql<string | null>`CASE WHEN ${windowStands}
        THEN ${WINDOW_WAIT_REASON} ELSE last_error END`,
      lease_expires_at: null,
      dispatch_key: null,
      updated_at: new Date(),
    }))
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/**
 * The attempt ends before anything was sent to Twilio, its outcome not written (the database
 * refused or cancelled that write): the claim is undone. Back to the queue, the claim's attempt
 * given back, key and lease cleared; last_error is left as it was. The next claim judges the call
 * afresh.
 *
 * Due again `delayMs` from now (or at its own due time if later), not at once: the failing write
 * may fail again (a lock held long, a database that stays busy), and a call due at once with its
 * old, earliest due time would be claimed first by every pass — an org with a batch of them would
 * fill every batch, the dispatcher would run again at once (a full batch) and other orgs' due calls
 * would wait. Put off, the call goes behind every call already due.
 */
export async function releaseClaim(
  tx: Tx,
  orgId: string,
  id: string,
  dispatchKey: string,
  delayMs: number,
): Promise<boolean> {
  const res = await settle(tx, orgId, id, dispatchKey)
    .set((eb) => ({
      status: 'pending',
      attempts: eb('attempts', '-', 1),
      next_attempt_at: sql<Date>`greatest(next_attempt_at,
        now() + make_interval(secs => ${delayMs / 1000}))`,
      lease_expires_at: null,
      dispatch_key: null,
      updated_at: new Date(),
    }))
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/** Refused by the calling rules (a listed number): cancelled with the reason, never placed. */
export async function markRefused(
  tx: Tx,
  orgId: string,
  id: string,
  dispatchKey: string,
  reason: string,
): Promise<boolean> {
  const res = await settle(tx, orgId, id, dispatchKey)
    .set({
      status: 'cancelled',
      lease_expires_at: null,
      last_error: reason,
      updated_at: new Date(),
    })
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

export async function markFailed(
  tx: Tx,
  orgId: string,
  id: string,
  dispatchKey: string,
  error: string,
): Promise<boolean> {
  const res = await settle(tx, orgId, id, dispatchKey)
    .set({ status: 'failed', lease_expires_at: null, last_error: error, updated_at: new Date() })
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}
