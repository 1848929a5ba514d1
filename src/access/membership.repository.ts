// Orgs and memberships: which orgs exist and who belongs to which with what role. Every
// capability that resolves a user's org reads them here (login, refresh and register in auth,
// the MFA challenge, /users/me, orgs, API keys, the superuser bootstrap). The caller owns the
// transaction.
import { sql } from 'kysely';
import type { Org, Role } from '../db/schema.ts';
import { sendWithNext, type Tx } from '../db/tenant.ts';

export function insertOrg(
  tx: Tx,
  row: { id: string; name: string; kind: 'company' | 'personal' },
): Promise<Org> {
  return tx.insertInto('orgs').values(row).returningAll().executeTakeFirstOrThrow();
}

export function findOrg(tx: Tx, id: string): Promise<Org | undefined> {
  return tx.selectFrom('orgs').selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * The org, its row share-locked until the transaction ends: a session opened into it commits
 * either before a concurrent suspension (which then ends it) or after it (and sees it).
 */
export function findOrgForShare(tx: Tx, id: string): Promise<Org | undefined> {
  return tx.selectFrom('orgs').selectAll().where('id', '=', id).forShare().executeTakeFirst();
}

export async function insertMembership(tx: Tx, orgId: string, userId: string, role: Role) {
  await tx.insertInto('memberships').values({ org_id: orgId, user_id: userId, role }).execute();
}

/** The user's active memberships, oldest first (the first is the default org at login). */
export function activeMembershipsOfUser(tx: Tx, userId: string) {
  return tx
    .selectFrom('memberships')
    .innerJoin('orgs', 'orgs.id', 'memberships.org_id')
    .select([
      'memberships.org_id',
      'memberships.role',
      'memberships.created_at',
      'orgs.name as org_name',
      'orgs.kind as org_kind',
      'orgs.suspended_at as org_suspended_at',
    ])
    .where('memberships.user_id', '=', userId)
    .where('memberships.status', '=', 'active')
    .orderBy('memberships.created_at', 'asc')
    .execute();
}

export function findActiveMembership(tx: Tx, orgId: string, userId: string) {
  return tx
    .selectFrom('memberships')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('user_id', '=', userId)
    .where('status', '=', 'active')
    .executeTakeFirst();
}

/**
 * The person's account and active role in the org, the user row share-locked until the
 * transaction ends (src/access/standing.ts says why; run it after findOrgForShare). `update`:
 * locked for update instead, for a transaction that goes on to change the user row (two share
 * locks each waiting to become exclusive would deadlock).
 */
export function findStandingForShare(
  tx: Tx,
  orgId: string,
  userId: string,
  lock: 'share' | 'update' = 'share',
) {
  const q = tx
    .selectFrom('users')
    .leftJoin('memberships', (j) =>
      j
        .onRef('memberships.user_id', '=', 'users.id')
        .on('memberships.org_id', '=', orgId)
        .on('memberships.status', '=', 'active'),
    )
    .select([
      'users.status as user_status',
      'users.is_superuser',
      'users.full_name',
      'users.mfa_enabled_at',
      'memberships.role',
    ])
    .where('users.id', '=', userId);
  return (lock === 'update' ? q.forUpdate('users') : q.forShare('users')).executeTakeFirst();
}

/**
 * The org and the person's standing in it, locked in src/access/standing.ts's order, in one round
 * trip. The org row is share-locked by a first statement queued in front of the second
 * (sendWithNext: same flight); PostgreSQL binds the second, and so takes its snapshot, only once
 * that lock is held. The second share-locks the user row and reads the org, the account and the
 * active role. Undefined when the org or the account does not exist; role null when the person
 * has no active membership. With `passwordHash`, `password_current` says whether the account's
 * hash is still that one (compared here: the hash never leaves the database).
 */
export async function lockOrgAndStanding(
  tx: Tx,
  orgId: string,
  userId: string,
  passwordHash?: string | null,
) {
  await sendWithNext(tx, tx.selectFrom('orgs').select('id').where('id', '=', orgId).forShare());
  const row = await tx
    .selectFrom('orgs')
    .innerJoin('users', (j) => j.on('users.id', '=', userId))
    .leftJoin('memberships', (j) =>
      j
        .onRef('memberships.user_id', '=', 'users.id')
        .onRef('memberships.org_id', '=', 'orgs.id')
        .on('memberships.status', '=', 'active'),
    )
    .selectAll('orgs')
    .select([
      'users.status as user_status',
      'users.is_superuser',
      'users.full_name',
      'users.mfa_enabled_at',
      'memberships.role',
    ])
    .select((eb) =>
      passwordHash === undefined
        ? sql<boolean | null>`null`.as('password_current')
        : eb('users.password_hash', 'is not distinct from', passwordHash).as('password_current'),
    )
    .where('orgs.id', '=', orgId)
    .forShare('users')
    .executeTakeFirst();
  if (!row) return undefined;
  const { user_status, is_superuser, full_name, mfa_enabled_at, role, password_current, ...org } =
    row;
  return {
    org,
    person: { user_status, is_superuser, full_name, mfa_enabled_at, role, password_current },
  };
}
