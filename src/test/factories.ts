// Test factories: rows made through the system path, each test with its own orgs and users so
// tests never share state and can run in parallel.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Database } from '../db/database.ts';
import type { Org, Role, User } from '../db/schema.ts';
import { withSystem } from '../db/tenant.ts';
import { newId } from '../http/ids.ts';

export const uniqueEmail = (tag = 'user') =>
  `${tag}-${randomBytes(5).toString('hex')}@example.test`;

export async function createOrg(database: Database, name = 'Acme Voice'): Promise<Org> {
  return withSystem(database, (tx) =>
    tx
      .insertInto('orgs')
      .values({ id: newId(), name, kind: 'company' })
      .returningAll()
      .executeTakeFirstOrThrow(),
  );
}

export async function createUser(
  database: Database,
  fields: { email?: string; full_name?: string; password_hash?: string | null } = {},
): Promise<User> {
  return withSystem(database, (tx) =>
    tx
      .insertInto('users')
      .values({
        id: newId(),
        email: fields.email ?? uniqueEmail(),
        full_name: fields.full_name ?? 'Test User',
        password_hash: fields.password_hash ?? null,
      })
      .returningAll()
      .executeTakeFirstOrThrow(),
  );
}

export async function addMember(database: Database, org: Org, user: User, role: Role) {
  await withSystem(database, (tx) =>
    tx.insertInto('memberships').values({ org_id: org.id, user_id: user.id, role }).execute(),
  );
}

/** An org with one user of each role. */
export async function createTeam(database: Database) {
  const org = await createOrg(database);
  const team = {} as Record<Role | 'member2', User>;
  for (const role of ['owner', 'admin', 'manager', 'member', 'member2'] as const) {
    const user = await createUser(database, { email: uniqueEmail(role) });
    await addMember(database, org, user, role === 'member2' ? 'member' : role);
    team[role] = user;
  }
  return { org, ...team };
}

/** POST /api/phones as `headers` (the answer, unchecked): registers a number, not yet verified. */
export function registerPhone(
  app: FastifyInstance,
  headers: Record<string, string>,
  payload: Record<string, unknown>,
) {
  return app.inject({ method: 'POST', url: '/api/phones', headers, payload });
}

/**
 * A phone registered through the API (with `headers`: any caller, test headers or real
 * credentials) whose ownership is then proven, as the platform superuser's assignment proves it:
 * the state every test of routing or placing calls starts from (a registered number alone is
 * inert). Returns the phone as the API now shows it.
 */
export async function createVerifiedPhone<T = Record<string, unknown>>(
  app: FastifyInstance,
  database: Database,
  headers: Record<string, string>,
  payload: Record<string, unknown>,
): Promise<T & { id: string; number: string; verification_status: string }> {
  const res = await registerPhone(app, headers, payload);
  if (res.statusCode !== 201) throw new Error(`POST /api/phones: ${res.statusCode} ${res.body}`);
  const { id } = res.json() as { id: string };
  await withSystem(database, (tx) =>
    tx
      .updateTable('phones')
      .set({
        verification_status: 'verified',
        verification_method: 'platform_assignment',
        verified_at: new Date(),
      })
      .where('id', '=', id)
      .execute(),
  );
  return (await app.inject({ url: `/api/phones/${id}`, headers })).json();
}
