// Platform-wide listings and account switches for the superuser. Runs under the superuser's
// tenant context (its `superuser` flag is what lets the policies show every org), except
// makeSuperuser: the bootstrap's, on the system path at start, before any superuser exists.
import { sql } from 'kysely';
import type { Tx } from '../db/tenant.ts';

export function listAllOrgs(tx: Tx, f: { limit: number; before?: string }) {
  let q = tx
    .selectFrom('orgs as o')
    .select([
      'o.id',
      'o.name',
      'o.kind',
      'o.created_at',
      (eb) =>
        eb
          .selectFrom('memberships as m')
          .select(sql<string>`count(*)`.as('n'))
          .whereRef('m.org_id', '=', 'o.id')
          .where('m.status', '=', 'active')
          .as('active_members'),
    ]);
  if (f.before) q = q.where('o.id', '<', f.before);
  return q.orderBy('o.id', 'desc').limit(f.limit).execute();
}

/** What the superuser sees of an account, in the listing and after a status change. */
const ADMIN_USER_COLUMNS = [
  'id',
  'email',
  'full_name',
  'is_superuser',
  'status',
  'mfa_enabled_at',
  'email_verified_at',
  'created_at',
] as const;

export function listAllUsers(tx: Tx, f: { limit: number; before?: string; email?: string }) {
  let q = tx.selectFrom('users').select(ADMIN_USER_COLUMNS);
  if (f.before) q = q.where('id', '<', f.before);
  if (f.email) {
    const escaped = f.email.replace(/[\\%_]/g, (c) => `\\${c}`);
    q = q.where('email', 'like', `%${escaped}%`);
  }
  return q.orderBy('id', 'desc').limit(f.limit).execute();
}

export type AdminUserRow = Awaited<ReturnType<typeof listAllUsers>>[number];

/** Sets the status when it changes; undefined when the user is unknown or already has it. */
export async function setUserStatus(
  tx: Tx,
  id: string,
  status: 'active' | 'disabled',
): Promise<AdminUserRow | undefined> {
  return tx
    .updateTable('users')
    .set({ status, updated_at: new Date() })
    .where('id', '=', id)
    .where('status', '<>', status)
    .returning(ADMIN_USER_COLUMNS)
    .executeTakeFirst();
}

export function findAdminUser(tx: Tx, id: string): Promise<AdminUserRow | undefined> {
  return tx.selectFrom('users').select(ADMIN_USER_COLUMNS).where('id', '=', id).executeTakeFirst();
}

export async function makeSuperuser(tx: Tx, id: string): Promise<void> {
  await tx
    .updateTable('users')
    .set({ is_superuser: true, updated_at: new Date() })
    .where('id', '=', id)
    .execute();
}

export async function orgExists(tx: Tx, id: string): Promise<boolean> {
  const row = await tx.selectFrom('orgs').select('id').where('id', '=', id).executeTakeFirst();
  return row !== undefined;
}

export async function orgIdsOfUser(tx: Tx, userId: string): Promise<string[]> {
  const rows = await tx
    .selectFrom('memberships')
    .select('org_id')
    .where('user_id', '=', userId)
    .execute();
  return rows.map((r) => r.org_id);
}
