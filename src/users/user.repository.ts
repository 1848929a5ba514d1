// Users data access. The caller owns the transaction; lookups by email run on the system path
// (before a tenant is known), everything else under the caller's context.

import { fixedQuery } from '../db/fixed-query.ts';
import type { NewUser, Org, User } from '../db/schema.ts';
import type { Tx } from '../db/tenant.ts';

/**
 * The account of an address, undefined when it has none. `forUpdate`: its row locked FOR UPDATE
 * by this one statement and read as it is once locked (the caller is about to rewrite it, or
 * must see a concurrent change that commits first, e.g. an invitation's accept).
 */
export function findUserByEmail(
  tx: Tx,
  email: string,
  { forUpdate = false }: { forUpdate?: boolean } = {},
): Promise<User | undefined> {
  const q = tx.selectFrom('users').selectAll().where('email', '=', email);
  return (forUpdate ? q.forUpdate() : q).executeTakeFirst();
}

export function findUserById(tx: Tx, id: string): Promise<User | undefined> {
  return tx.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The columns of a user's public shape (src/users/user.json.ts): no hash, no TOTP secret. */
export const PUBLIC_USER_COLUMNS = [
  'id',
  'email',
  'full_name',
  'is_superuser',
  'email_verified_at',
  'mfa_enabled_at',
  'created_at',
] as const satisfies readonly (keyof User)[];
export type PublicUser = Pick<User, (typeof PUBLIC_USER_COLUMNS)[number]>;
/** The same columns qualified for a join, built once (`GET /auth/me` runs on every page load). */
const PUBLIC_USER_SELECTION = PUBLIC_USER_COLUMNS.map((c) => `users.${c}` as const);

const userInOrg = fixedQuery((db, a: { userId: string; orgId: string }) =>
  db
    .selectFrom('users')
    .innerJoin('orgs', (join) => join.on('orgs.id', '=', a.orgId))
    .select(PUBLIC_USER_SELECTION)
    .select(['orgs.name as org_name', 'orgs.kind as org_kind'])
    .where('users.id', '=', a.userId),
);

/**
 * The user's public columns and the org they act in, read by ONE statement (`GET /auth/me` pays
 * one round trip): undefined when either is not visible under the caller's context. Secrets (the
 * password hash, TOTP secrets) are not read: the answer shows none of them.
 */
export async function findUserInOrg(
  tx: Tx,
  userId: string,
  orgId: string,
): Promise<{ user: PublicUser; org: Pick<Org, 'id' | 'name' | 'kind'> } | undefined> {
  const [row] = await userInOrg(tx, { userId, orgId });
  if (!row) return undefined;
  // The user's columns picked by name, not with a rest pattern (a slow path under Node 20's V8).
  const user: PublicUser = {
    id: row.id,
    email: row.email,
    full_name: row.full_name,
    is_superuser: row.is_superuser,
    email_verified_at: row.email_verified_at,
    mfa_enabled_at: row.mfa_enabled_at,
    created_at: row.created_at,
  };
  return { user, org: { id: orgId, name: row.org_name, kind: row.org_kind } };
}

export function insertUser(tx: Tx, row: NewUser): Promise<User> {
  return tx.insertInto('users').values(row).returningAll().executeTakeFirstOrThrow();
}

/**
 * Inserts the account unless the address already has one (anywhere: the unique index sees rows
 * the caller's tenant context cannot). True when inserted. No RETURNING: an admin sees the new
 * row only once it is a member of their org.
 */
export async function insertUserIfAddressFree(
  tx: Tx,
  row: { id: string; email: string; full_name: string | null },
): Promise<boolean> {
  const r = await tx
    .insertInto('users')
    .values({ ...row, password_hash: null })
    .onConflict((oc) => oc.doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0) === 1;
}

/**
 * The user's row, locked until the transaction ends: an act on the account's own credentials
 * (its second factor) runs after, never beside, a password change or reset of the same account.
 */
export function findUserForUpdate(tx: Tx, id: string): Promise<User | undefined> {
  return tx.selectFrom('users').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
}

/**
 * The account row locked against share locks (FOR NO KEY UPDATE: inserts referencing it still
 * go on). Whatever opens a session share-locks it first (login, switch-org: lockMember), so an
 * act ending every session of the account that takes this lock first either runs before such a
 * session exists, or after it committed, and sees it.
 */
export async function lockAccountSessions(tx: Tx, id: string): Promise<void> {
  await tx.selectFrom('users').select('id').where('id', '=', id).forNoKeyUpdate().execute();
}

export async function setPasswordHash(tx: Tx, id: string, passwordHash: string): Promise<void> {
  await tx
    .updateTable('users')
    .set({ password_hash: passwordHash, updated_at: new Date() })
    .where('id', '=', id)
    .execute();
}

/**
 * Replaces the hash only while it is still `from` (the one the caller just verified: a login's
 * rehash, a password change): a password change or reset committed meanwhile stays, never
 * overwritten by what was proven with the password it replaced.
 */
export async function upgradePasswordHash(
  tx: Tx,
  id: string,
  from: string,
  to: string,
): Promise<boolean> {
  const r = await tx
    .updateTable('users')
    .set({ password_hash: to, updated_at: new Date() })
    .where('id', '=', id)
    .where('password_hash', '=', from)
    .executeTakeFirst();
  return r.numUpdatedRows === 1n;
}

export function updateProfile(
  tx: Tx,
  id: string,
  patch: { full_name?: string | null },
): Promise<User | undefined> {
  return tx
    .updateTable('users')
    .set({ ...patch, updated_at: new Date() })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

/**
 * The first proof of mailbox control: marks the address verified only if it never was. True for
 * exactly one caller, however many proofs race (compare-and-set on the row).
 */
export async function claimFirstEmailProof(tx: Tx, id: string): Promise<boolean> {
  const r = await tx
    .updateTable('users')
    .set({ email_verified_at: new Date(), updated_at: new Date() })
    .where('id', '=', id)
    .where('email_verified_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}
