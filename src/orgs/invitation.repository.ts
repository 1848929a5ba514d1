// Invitations data access. The caller owns the transaction.
import type { Invitation, Role } from '../db/schema.ts';
import type { Tx } from '../db/tenant.ts';

export async function insertInvitation(
  tx: Tx,
  row: Pick<
    Invitation,
    'id' | 'org_id' | 'email' | 'role' | 'token_hash' | 'invited_by' | 'expires_at'
  >,
): Promise<Invitation> {
  return tx.insertInto('invitations').values(row).returningAll().executeTakeFirstOrThrow();
}

/** Pending = neither accepted nor revoked nor expired. Newest first. */
export function listPendingInvitations(
  tx: Tx,
  orgId: string,
  f: { limit: number; before?: string },
): Promise<Invitation[]> {
  let q = tx
    .selectFrom('invitations')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('accepted_at', 'is', null)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', new Date());
  if (f.before) q = q.where('id', '<', f.before);
  return q.orderBy('id', 'desc').limit(f.limit).execute();
}

/**
 * Revokes the org's pending invitations matching the filter; returns those that were live.
 * `expiredToo`: the expired, never-revoked ones as well, before a new invitation of the address is
 * written — the unique index invitations_one_open_per_address (migration 0030) admits one open row
 * per (org, email) and cannot see expiry, so an expired one left open would refuse the new row.
 * Only the live ones are returned either way: the links that could still be used.
 */
export async function revokeInvitations(
  tx: Tx,
  orgId: string,
  f: { id?: string; email?: string; expiredToo?: boolean },
  revokedBy: string | null,
): Promise<Pick<Invitation, 'id' | 'org_id' | 'role' | 'invited_by'>[]> {
  const now = new Date();
  let q = tx
    .updateTable('invitations')
    .set({ revoked_at: now, revoked_by: revokedBy })
    .where('org_id', '=', orgId)
    .where('accepted_at', 'is', null)
    .where('revoked_at', 'is', null);
  if (!f.expiredToo) q = q.where('expires_at', '>', now);
  if (f.id) q = q.where('id', '=', f.id);
  if (f.email) q = q.where('email', '=', f.email);
  const closed = await q.returning(['id', 'org_id', 'role', 'invited_by', 'expires_at']).execute();
  return closed
    .filter((i) => i.expires_at > now)
    .map(({ id, org_id, role, invited_by }) => ({ id, org_id, role, invited_by }));
}

/**
 * Locks every invitation of `email` into the org, in id order, and returns them. Taken after the
 * org's and the accounts' locks (invitation-accept.ts: the lock order); the id order keeps two
 * flows that lock several of them (an accept and an admin creating that address's account; the
 * address's revoked, accepted and expired ones are among them) from each holding one the other
 * waits for.
 */
export function lockInvitationsOfAddress(
  tx: Tx,
  orgId: string,
  email: string,
): Promise<Invitation[]> {
  return tx
    .selectFrom('invitations')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('email', '=', email)
    .orderBy('id')
    .forUpdate()
    .execute();
}

function byTokenHash(tx: Tx, tokenHash: string) {
  return tx.selectFrom('invitations').selectAll().where('token_hash', '=', tokenHash);
}

/**
 * Locks the row, alone in its transaction (invitation-authority.ts settleInviterAuthority). The
 * accept transaction locks it with the address's other invitations, after the org's and the
 * invited account's locks (lockInvitationsOfAddress; invitation-accept.ts: the lock order).
 */
export function findInvitationByTokenHashForUpdate(
  tx: Tx,
  tokenHash: string,
): Promise<Invitation | undefined> {
  return byTokenHash(tx, tokenHash).forUpdate().executeTakeFirst();
}

export function findInvitationByTokenHash(
  tx: Tx,
  tokenHash: string,
): Promise<Invitation | undefined> {
  return byTokenHash(tx, tokenHash).executeTakeFirst();
}

export async function markInvitationAccepted(tx: Tx, id: string, userId: string): Promise<void> {
  await tx
    .updateTable('invitations')
    .set({ accepted_at: new Date(), accepted_by: userId })
    .where('id', '=', id)
    .execute();
}

/** The inviter's role in the org now: null unless the account and the membership are active. */
export async function inviterRoleNow(tx: Tx, orgId: string, userId: string): Promise<Role | null> {
  const row = await tx
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .select('memberships.role')
    .where('memberships.org_id', '=', orgId)
    .where('memberships.user_id', '=', userId)
    .where('memberships.status', '=', 'active')
    .where('users.status', '=', 'active')
    .executeTakeFirst();
  return row?.role ?? null;
}
