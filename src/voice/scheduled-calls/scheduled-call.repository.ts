// Scheduled calls data access for people (create, list, cancel). The dispatcher's queue
// operations live in src/telephony/dispatch.repository.ts. Every function takes the caller's
// transaction first; the explicit org filter is defence in depth on top of row-level security.
import { sql } from 'kysely';
import { WINDOW_WAIT_REASON } from '../../calling-rules/rules.ts';
import { type LogPage, logPage } from '../../db/log-page.ts';
import { livePage, liveRow, type PageOpts } from '../../db/owned-rows.ts';
import type { ScheduledCall, ScheduledCallStatus } from '../../db/schema.ts';
import type { Tx } from '../../db/tenant.ts';

export type NewScheduledCall = Pick<
  ScheduledCall,
  'id' | 'org_id' | 'owner_id' | 'agent_id' | 'to_number' | 'scheduled_at' | 'recipient_time_zone'
>;

export function insertScheduledCall(tx: Tx, row: NewScheduledCall): Promise<ScheduledCall> {
  return tx
    .insertInto('scheduled_calls')
    .values({ ...row, next_attempt_at: row.scheduled_at })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/**
 * How many calls the caller's whole org has waiting (pending or being placed), after taking the
 * org's lock that serialises this check with concurrent inserts until the transaction ends. A
 * database function (migration 0007), because a member's own context sees only their own calls.
 */
export async function lockAndCountPending(tx: Tx): Promise<number> {
  const { rows } = await sql<{
    n: string | number;
  }>`SELECT app_lock_and_count_pending_scheduled_calls() AS n`.execute(tx);
  return Number(rows[0]?.n ?? 0);
}

export function findScheduledCall(
  tx: Tx,
  orgId: string,
  id: string,
): Promise<ScheduledCall | undefined> {
  return tx.selectFrom('scheduled_calls').selectAll().where(liveRow(orgId, id)).executeTakeFirst();
}

export function listScheduledCalls(
  tx: Tx,
  orgId: string,
  opts: PageOpts & {
    agentId?: string;
    status?: ScheduledCallStatus;
  } & Pick<LogPage, 'since' | 'until'>,
): Promise<ScheduledCall[]> {
  // livePage holds the cursor; the log window is on the time the call is due.
  let query = tx
    .selectFrom('scheduled_calls')
    .selectAll()
    .where(livePage(orgId, opts))
    .where(logPage('scheduled_at', { since: opts.since, until: opts.until }));
  if (opts.agentId) query = query.where('agent_id', '=', opts.agentId);
  if (opts.status) query = query.where('status', '=', opts.status);
  return query.orderBy('id', 'desc').limit(opts.limit).execute();
}

/**
 * pending → cancelled by a person, atomically: a call the dispatcher has already claimed (row lock
 * and status) is not pending any more, so cancel and dispatch can never both win. An earlier
 * attempt's last_error goes: the call is cancelled by the person, not because of that error (the
 * dispatcher's and the do-not-call list's cancels write their reason there instead).
 */
export function cancelPending(
  tx: Tx,
  orgId: string,
  id: string,
  alsoDelete: boolean,
): Promise<ScheduledCall | undefined> {
  const now = new Date();
  return tx
    .updateTable('scheduled_calls')
    .set({
      status: 'cancelled',
      last_error: null,
      updated_at: now,
      ...(alsoDelete ? { deleted_at: now } : {}),
    })
    .where(liveRow(orgId, id))
    .where('status', '=', 'pending')
    .returningAll()
    .executeTakeFirst();
}

/**
 * Change a pending call (number, time, recipient's zone); a new time is also its next attempt.
 * Conditioned on `pending`, like cancelPending: a call the dispatcher has claimed is not changed.
 * A deferral by the calling window was computed for the call as it was: it is dropped, and the
 * dispatcher's next claim checks the window again (dispatch.repository.ts markWindowDeferred).
 * A new time also drops last_error: it replaces the wait the error explained (a failed attempt's
 * backoff, a quota's wait), and the next claim writes a new one if there is still cause. It gives
 * back the attempts spent too (attempts = 0), so the call has as many tries as a new one. A new
 * number or zone alone keeps both, as the call still waits for that backoff.
 *
 * The dispatch key is left as it is: it is the last attempt's, and after an expired lease that
 * attempt's call may yet call back, which must still settle the call (call-log.repository.ts
 * settleDispatchByCallback) rather than let it be placed twice; the next claim mints a new one
 * (and that attempt's quota slots are its own, sched:<id>:<key>). The lease is already cleared
 * (pending).
 */
export function updatePending(
  tx: Tx,
  orgId: string,
  id: string,
  patch: { to_number?: string; scheduled_at?: Date; recipient_time_zone?: string | null },
): Promise<ScheduledCall | undefined> {
  return tx
    .updateTable('scheduled_calls')
    .set({
      ...patch,
      ...(patch.scheduled_at
        ? { next_attempt_at: patch.scheduled_at, last_error: null, attempts: 0 }
        : // The window's deferral is dropped below: its wait is no longer the reason either.
          {
            last_error: sql<string | null>`CASE WHEN last_error = ${WINDOW_WAIT_REASON}
              THEN NULL ELSE last_error END`,
          }),
      window_deferred_until: null,
      updated_at: new Date(),
    })
    .where(liveRow(orgId, id))
    .where('status', '=', 'pending')
    .returningAll()
    .executeTakeFirst();
}

/**
 * The pending call, locked until the transaction ends: what a PATCH changes from, read under the
 * lock its UPDATE takes anyway, so a concurrent PATCH cannot slip in between and make the audit's
 * old values stale. Undefined once the dispatcher has it (its claim skips locked rows).
 */
export function lockPending(tx: Tx, orgId: string, id: string): Promise<ScheduledCall | undefined> {
  return tx
    .selectFrom('scheduled_calls')
    .selectAll()
    .where(liveRow(orgId, id))
    .where('status', '=', 'pending')
    .forUpdate()
    .executeTakeFirst();
}

/**
 * Hide a finished call (dispatched, failed, cancelled) from lists; its history stays. Returns what
 * the audit entry names (as the row is when hidden), or undefined when no finished call matched.
 */
export function softDeleteFinished(
  tx: Tx,
  orgId: string,
  id: string,
): Promise<Pick<ScheduledCall, 'to_number' | 'status' | 'owner_id' | 'call_sid'> | undefined> {
  return tx
    .updateTable('scheduled_calls')
    .set({ deleted_at: new Date(), updated_at: new Date() })
    .where(liveRow(orgId, id))
    .where('status', 'in', ['dispatched', 'failed', 'cancelled'])
    .returning(['to_number', 'status', 'owner_id', 'call_sid'])
    .executeTakeFirst();
}
