// The kill switch's reads and writes. The caller owns the transaction: the act runs on the system
// path (it ends every member's sessions, which no org context may touch) after the service has
// proved who is acting.
import { sql } from 'kysely';
import type { Org, SuspensionKind } from '../db/schema.ts';
import type { Tx } from '../db/tenant.ts';

/** The org, locked: concurrent acts on it (two suspends, a suspend and a resume) serialise here. */
export function lockOrg(tx: Tx, orgId: string): Promise<Org | undefined> {
  return tx.selectFrom('orgs').selectAll().where('id', '=', orgId).forUpdate().executeTakeFirst();
}

export async function markSuspended(
  tx: Tx,
  orgId: string,
  s: { kind: SuspensionKind; reason: string; by: string },
): Promise<Org> {
  return tx
    .updateTable('orgs')
    .set({
      suspended_at: new Date(),
      suspended_reason: s.reason,
      suspended_by: s.by,
      suspension_kind: s.kind,
      updated_at: new Date(),
    })
    .where('id', '=', orgId)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function clearSuspended(tx: Tx, orgId: string): Promise<Org> {
  return tx
    .updateTable('orgs')
    .set({
      suspended_at: null,
      suspended_reason: null,
      suspended_by: null,
      suspension_kind: null,
      updated_at: new Date(),
    })
    .where('id', '=', orgId)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/**
 * Ends every live session of the org (its refresh chains die with it); returns their ids. The
 * platform superuser's are spared: the kill switch never refuses them (they are who resumes), and
 * suspending the org they logged into must not log them out.
 */
export async function revokeOrgSessions(tx: Tx, orgId: string, reason: string): Promise<string[]> {
  const rows = await tx
    .updateTable('sessions')
    .set({ revoked_at: new Date(), revoked_reason: reason })
    .where('org_id', '=', orgId)
    .where('revoked_at', 'is', null)
    .where('user_id', 'not in', (eb) =>
      eb.selectFrom('users').select('id').where('is_superuser', '=', true),
    )
    .returning('id')
    .execute();
  return rows.map((r) => r.id);
}

/** How many of the org's scheduled calls wait in the queue (paused while it is suspended). */
export async function countPendingScheduledCalls(tx: Tx, orgId: string): Promise<number> {
  const row = await tx
    .selectFrom('scheduled_calls')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('org_id', '=', orgId)
    .where('status', '=', 'pending')
    .where('deleted_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The org's API keys that would work again once it is resumed (neither revoked nor expired). */
export async function countUsableApiKeys(tx: Tx, orgId: string): Promise<number> {
  const row = await tx
    .selectFrom('api_keys')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('org_id', '=', orgId)
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', new Date())]))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export interface SuspendedOrgRow {
  id: string;
  name: string;
  kind: 'company' | 'personal';
  suspended_at: Date;
  suspended_reason: string;
  suspended_by: string | null;
  suspended_by_email: string | null;
  suspension_kind: SuspensionKind;
}

/**
 * Every suspended org, the latest suspension first (then by id), after `before` when given.
 * suspended_at is written by markSuspended from the app's clock, to the millisecond: the cursor's
 * instant compares exactly.
 */
export async function listSuspendedOrgs(
  tx: Tx,
  f: { limit: number; before?: { at: Date; id: string } },
): Promise<SuspendedOrgRow[]> {
  let q = tx
    .selectFrom('orgs as o')
    .leftJoin('users as u', 'u.id', 'o.suspended_by')
    .select([
      'o.id',
      'o.name',
      'o.kind',
      'o.suspended_at',
      'o.suspended_reason',
      'o.suspended_by',
      'u.email as suspended_by_email',
      'o.suspension_kind',
    ])
    .where('o.suspended_at', 'is not', null);
  if (f.before) {
    q = q.where(sql<boolean>`(o.suspended_at, o.id) < (${f.before.at}, ${f.before.id})`);
  }
  const rows = await q
    .orderBy('o.suspended_at', 'desc')
    .orderBy('o.id', 'desc')
    .limit(f.limit)
    .execute();
  return rows as SuspendedOrgRow[];
}
