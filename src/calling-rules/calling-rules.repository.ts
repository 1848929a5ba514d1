// Calling rules data access: the org's calling window, its do-not-call list, and the pending calls
// a listed number cancels. Every function takes the caller's transaction first; the explicit org
// filter is defence in depth on top of row-level security.
import { sql } from 'kysely';
import type { DoNotCallNumber, OrgCallingWindow } from '../db/schema.ts';
import type { Tx } from '../db/tenant.ts';
import { WINDOW_WAIT_REASON } from './rules.ts';

export function findWindow(tx: Tx, orgId: string): Promise<OrgCallingWindow | undefined> {
  return tx
    .selectFrom('org_calling_windows')
    .selectAll()
    .where('org_id', '=', orgId)
    .executeTakeFirst();
}

export function upsertWindow(
  tx: Tx,
  row: Pick<
    OrgCallingWindow,
    'org_id' | 'time_zone' | 'days' | 'start_minute' | 'end_minute' | 'updated_by'
  >,
): Promise<OrgCallingWindow> {
  const now = new Date();
  return tx
    .insertInto('org_calling_windows')
    .values({ ...row, days: sql`${row.days}::smallint[]`, updated_at: now })
    .onConflict((oc) =>
      oc.column('org_id').doUpdateSet({
        time_zone: row.time_zone,
        days: sql`${row.days}::smallint[]`,
        start_minute: row.start_minute,
        end_minute: row.end_minute,
        updated_by: row.updated_by,
        updated_at: now,
      }),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function deleteWindow(tx: Tx, orgId: string): Promise<boolean> {
  const res = await tx
    .deleteFrom('org_calling_windows')
    .where('org_id', '=', orgId)
    .executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}

/**
 * Drop the deferrals the calling window gave the org's pending calls (dispatch.repository.ts
 * markWindowDeferred): computed from a window now replaced or removed, they would hold calls
 * until an opening that no longer applies. Each call is due again at its own due time
 * (next_attempt_at), and the dispatcher checks the window as it is when it claims it.
 */
export async function clearWindowDeferrals(tx: Tx, orgId: string): Promise<void> {
  await tx
    .updateTable('scheduled_calls')
    // The wait for the old window is no longer the reason the call waits (the next claim judges).
    .set({
      window_deferred_until: null,
      last_error: sql<string | null>`CASE WHEN last_error = ${WINDOW_WAIT_REASON}
        THEN NULL ELSE last_error END`,
    })
    .where('org_id', '=', orgId)
    .where('status', '=', 'pending')
    .where('window_deferred_until', 'is not', null)
    .execute();
}

export async function isListed(tx: Tx, orgId: string, number: string): Promise<boolean> {
  const row = await tx
    .selectFrom('do_not_call_numbers')
    .select('id')
    .where('org_id', '=', orgId)
    .where('number', '=', number)
    .executeTakeFirst();
  return row !== undefined;
}

export function listNumbers(
  tx: Tx,
  orgId: string,
  opts: { limit: number; before?: string; number?: string },
): Promise<DoNotCallNumber[]> {
  let q = tx.selectFrom('do_not_call_numbers').selectAll().where('org_id', '=', orgId);
  if (opts.before) q = q.where('id', '<', opts.before);
  if (opts.number) q = q.where('number', '=', opts.number);
  return q.orderBy('id', 'desc').limit(opts.limit).execute();
}

/**
 * Insert the numbers not listed yet; returns the rows inserted (a listed number is skipped).
 *
 * In one order, by number, whatever the caller's order: inserting a number another open
 * transaction has just inserted waits for that transaction (the (org_id, number) unique index),
 * so two imports naming the same numbers in different orders would each hold one the other waits
 * for — a deadlock (40P01). In one order, the writer that waits holds nothing the other still
 * needs (do-not-call-import.pg.test.ts).
 */
export function insertNumbers(
  tx: Tx,
  rows: Pick<DoNotCallNumber, 'id' | 'org_id' | 'number' | 'reason' | 'added_by'>[],
): Promise<DoNotCallNumber[]> {
  if (rows.length === 0) return Promise.resolve([]);
  const ordered = [...rows].sort((x, y) =>
    x.number < y.number ? -1 : x.number > y.number ? 1 : 0,
  );
  return tx
    .insertInto('do_not_call_numbers')
    .values(ordered)
    .onConflict((oc) => oc.columns(['org_id', 'number']).doNothing())
    .returningAll()
    .execute();
}

export function deleteNumber(
  tx: Tx,
  orgId: string,
  id: string,
): Promise<DoNotCallNumber | undefined> {
  return tx
    .deleteFrom('do_not_call_numbers')
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

export interface CancelledCall {
  id: string;
  owner_id: string;
  to_number: string;
}

/**
 * pending → cancelled for every live call of the org to one of `numbers`, with the reason in
 * last_error. A call the dispatcher has claimed is no longer pending (row lock and status); the
 * dispatcher refuses listed numbers itself (dispatch.repository.ts claimDueCalls).
 */
export function cancelPendingCallsTo(
  tx: Tx,
  orgId: string,
  numbers: string[],
  reason: string,
): Promise<CancelledCall[]> {
  if (numbers.length === 0) return Promise.resolve([]);
  return tx
    .updateTable('scheduled_calls')
    .set({ status: 'cancelled', last_error: reason, updated_at: new Date() })
    .where('org_id', '=', orgId)
    .where('to_number', 'in', numbers)
    .where('status', '=', 'pending')
    .where('deleted_at', 'is', null)
    .returning(['id', 'owner_id', 'to_number'])
    .execute();
}
