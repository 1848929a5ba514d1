// Members of an org (memberships joined with their users), the org row itself, and the lock that
// serialises every change touching owners. The caller owns the transaction.
import { sql } from 'kysely';
import type { Org, Role } from '../db/schema.ts';
import type { Tx } from '../db/tenant.ts';

export interface MemberRow {
  user_id: string;
  email: string;
  full_name: string | null;
  role: Role;
  status: 'active' | 'deactivated';
  mfa_enabled_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

function members(tx: Tx, orgId: string) {
  return tx
    .selectFrom('memberships as m')
    .innerJoin('users as u', 'u.id', 'm.user_id')
    .select([
      'm.user_id',
      'u.email',
      'u.full_name',
      'm.role',
      'm.status',
      'u.mfa_enabled_at',
      'm.created_at',
      'm.updated_at',
    ])
    .where('m.org_id', '=', orgId);
}

/** Newest users first; `before` is the last user id of the previous page. */
export function listMembers(
  tx: Tx,
  orgId: string,
  f: { limit: number; before?: string; status?: 'active' | 'deactivated'; role?: Role },
): Promise<MemberRow[]> {
  let q = members(tx, orgId);
  if (f.before) q = q.where('m.user_id', '<', f.before);
  if (f.status) q = q.where('m.status', '=', f.status);
  if (f.role) q = q.where('m.role', '=', f.role);
  return q.orderBy('m.user_id', 'desc').limit(f.limit).execute();
}

export function findMember(tx: Tx, orgId: string, userId: string): Promise<MemberRow | undefined> {
  return members(tx, orgId).where('m.user_id', '=', userId).executeTakeFirst();
}

export function findMemberByEmail(
  tx: Tx,
  orgId: string,
  email: string,
): Promise<MemberRow | undefined> {
  return members(tx, orgId).where('u.email', '=', email).executeTakeFirst();
}

/**
 * Locks the org row until the transaction ends. Every change that could remove an owner takes
 * it first, so two owners demoting each other at once cannot leave the org with none.
 */
export async function lockOrg(tx: Tx, orgId: string): Promise<boolean> {
  const row = await tx
    .selectFrom('orgs')
    .select('id')
    .where('id', '=', orgId)
    .forUpdate()
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Owners who can act: an active membership of an active account. A disabled account's owner
 * membership does not count, or the last owner who can log in could step down or be removed
 * beside it, leaving the org with no owner anyone can use.
 */
export async function countActiveOwners(tx: Tx, orgId: string): Promise<number> {
  const row = await tx
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .select(sql<string>`count(*)`.as('n'))
    .where('memberships.org_id', '=', orgId)
    .where('memberships.role', '=', 'owner')
    .where('memberships.status', '=', 'active')
    .where('users.status', '=', 'active')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function setMemberRole(tx: Tx, orgId: string, userId: string, role: Role) {
  await tx
    .updateTable('memberships')
    .set({ role, updated_at: new Date() })
    .where('org_id', '=', orgId)
    .where('user_id', '=', userId)
    .execute();
}

export async function deactivateMembership(tx: Tx, orgId: string, userId: string) {
  await tx
    .updateTable('memberships')
    .set({ status: 'deactivated', updated_at: new Date() })
    .where('org_id', '=', orgId)
    .where('user_id', '=', userId)
    .execute();
}

/** Joins the user to the org, or brings a deactivated membership back, with this role. */
export async function activateMembership(tx: Tx, orgId: string, userId: string, role: Role) {
  await tx
    .insertInto('memberships')
    .values({ org_id: orgId, user_id: userId, role })
    .onConflict((oc) =>
      oc
        .columns(['org_id', 'user_id'])
        .doUpdateSet({ role, status: 'active', updated_at: new Date() }),
    )
    .execute();
}

export function updateOrg(
  tx: Tx,
  orgId: string,
  patch: { name?: string; settings?: Record<string, unknown> },
): Promise<Org | undefined> {
  return tx
    .updateTable('orgs')
    .set({
      ...(patch.name !== undefined ? { name: patch.name } : {}),
      ...(patch.settings !== undefined ? { settings: JSON.stringify(patch.settings) } : {}),
      updated_at: new Date(),
    })
    .where('id', '=', orgId)
    .returningAll()
    .executeTakeFirst();
}
