// Test helpers for orgs and access control: people with real logins in an org of one user per
// role, the platform superuser, API keys, and reading an org's audit trail.
import type { FastifyInstance } from 'fastify';
import { bootstrapSuperuser } from '../admin/bootstrap.ts';
import { hashPassword } from '../auth/password.ts';
import type { Config } from '../config.ts';
import type { Database } from '../db/database.ts';
import type { AuditLog, Org, Role, User } from '../db/schema.ts';
import { withSystem } from '../db/tenant.ts';
import { buildTestApp, type TestApp } from './app.ts';
import { bearer, GOOD_PASSWORD, loginUser } from './auth-helpers.ts';
import { addMember, createOrg, createUser, uniqueEmail } from './factories.ts';

export interface Person {
  user: User;
  email: string;
  access: string;
  refresh: string;
  headers: Record<string, string>;
}

const hashes = new Map<string, Promise<string>>();
function passwordHash(config: Readonly<Config>): Promise<string> {
  const key = JSON.stringify(config.auth.argon2);
  let h = hashes.get(key);
  if (!h) {
    h = hashPassword(GOOD_PASSWORD, config.auth.argon2);
    hashes.set(key, h);
  }
  return h;
}

export async function logIn(app: FastifyInstance, email: string, password = GOOD_PASSWORD) {
  const res = await loginUser(app, email, password);
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`);
  const j = res.json();
  return { access: j.access_token as string, refresh: j.refresh_token as string, res };
}

/** A user with a password, member of `org` with `role`, logged in (their first org). */
export async function person(
  t: TestApp,
  org: Org,
  role: Role,
  tag: string = role,
): Promise<Person> {
  const email = uniqueEmail(tag);
  const user = await createUser(t.database, {
    email,
    password_hash: await passwordHash(t.config),
  });
  await addMember(t.database, org, user, role);
  const { access, refresh } = await logIn(t.app, email);
  return { user, email, access, refresh, headers: bearer(access) };
}

export interface Team {
  org: Org;
  owner: Person;
  admin: Person;
  manager: Person;
  member: Person;
}

export async function team(t: TestApp, name = 'Acme Voice'): Promise<Team> {
  const org = await createOrg(t.database, name);
  return {
    org,
    owner: await person(t, org, 'owner'),
    admin: await person(t, org, 'admin'),
    manager: await person(t, org, 'manager'),
    member: await person(t, org, 'member'),
  };
}

export const ADMIN_EMAIL = 'root@platform.example.test';
export const ADMIN_PASSWORD = 'platform superuser passphrase 9';
export const ADMIN_ENV = { ADMIN_EMAIL, ADMIN_PASSWORD };

/** Bootstraps the superuser from the app's config (ADMIN_ENV) and logs it in. */
export async function superuser(t: TestApp): Promise<Person> {
  const r = await bootstrapSuperuser(t.database, t.config);
  if (r.status === 'not_configured' || r.status === 'refused_unverified') {
    throw new Error(`superuser bootstrap: ${r.status}`);
  }
  const { access, refresh } = await logIn(t.app, ADMIN_EMAIL, ADMIN_PASSWORD);
  const user = await withSystem(t.database, (tx) =>
    tx.selectFrom('users').selectAll().where('id', '=', r.userId).executeTakeFirstOrThrow(),
  );
  return { user, email: ADMIN_EMAIL, access, refresh, headers: bearer(access) };
}

/** A test app configured with ADMIN_ENV, and its superuser logged in. */
export async function superuserApp(): Promise<{ t: TestApp; su: Person }> {
  const t = await buildTestApp({ env: ADMIN_ENV });
  return { t, su: await superuser(t) };
}

/** GET /api/prompts as `headers`: the cheapest scoped read, to probe whether a credential works. */
export const listPrompts = (app: FastifyInstance, headers: Record<string, string>) =>
  app.inject({ url: '/api/prompts', headers });

/** POST /api/prompts as `headers` (the answer, unchecked): the cheapest scoped write. */
export const postPrompt = (
  app: FastifyInstance,
  headers: Record<string, string>,
  payload: object = { name: 'greeting', content: 'hi' },
) => app.inject({ method: 'POST', url: '/api/prompts', headers, payload });

/** PATCH /api/orgs/current/members/:id as `by`: sets `target`'s role (the answer, unchecked). */
export const setRole = (
  app: FastifyInstance,
  by: Pick<Person, 'headers'>,
  target: Pick<Person, 'user'>,
  role: string,
) =>
  app.inject({
    method: 'PATCH',
    url: `/api/orgs/current/members/${target.user.id}`,
    headers: by.headers,
    payload: { role },
  });

/** DELETE /api/orgs/current/members/:id as `by` (the answer, unchecked). */
export const removeMember = (
  app: FastifyInstance,
  by: Pick<Person, 'headers'>,
  target: Pick<Person, 'user'>,
) =>
  app.inject({
    method: 'DELETE',
    url: `/api/orgs/current/members/${target.user.id}`,
    headers: by.headers,
  });

export async function createKey(
  app: FastifyInstance,
  by: Pick<Person, 'headers'>,
  scopes: string[],
  extra: { name?: string; expires_at?: string } = {},
): Promise<{ id: string; key: string; prefix: string; headers: Record<string, string> }> {
  const res = await app.inject({
    method: 'POST',
    url: '/api/api-keys',
    headers: by.headers,
    payload: { name: extra.name ?? 'worker', scopes, ...extra },
  });
  if (res.statusCode !== 201) throw new Error(`key creation failed: ${res.statusCode} ${res.body}`);
  const j = res.json();
  return { id: j.id, key: j.key, prefix: j.prefix, headers: bearer(j.key) };
}

/** The org's audit trail straight from the database, oldest first. */
export function auditOf(database: Database, orgId: string): Promise<AuditLog[]> {
  return withSystem(database, (tx) =>
    tx
      .selectFrom('audit_logs')
      .selectAll()
      .where('org_id', '=', orgId)
      .orderBy('id', 'asc')
      .execute(),
  );
}
