// The access matrix: every route of orgs, members, invitations, admin-created users, API keys,
// the superuser's admin routes, prompts and the audit log, called by every kind of caller —
// each role of org A, API keys of org A with and without the right scope, the owner of another
// org B, the platform superuser acting in A through X-Switchboard-Org, and nobody — and the
// status each must get. Mutating calls get fresh targets, so the order of calls does not matter.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY_SCOPES } from '../access/permissions.ts';
import { generateToken, hashToken } from '../crypto/tokens.ts';
import { withSystem } from '../db/tenant.ts';
import { newId } from '../http/ids.ts';
import { buildTestApp, type TestApp } from '../test/app.ts';
import { bearer, GOOD_PASSWORD } from '../test/auth-helpers.ts';
import { addMember, createOrg, createUser, uniqueEmail } from '../test/factories.ts';
import {
  ADMIN_ENV,
  ADMIN_PASSWORD,
  auditOf,
  createKey,
  logIn,
  type Person,
  postPrompt,
  superuser,
  type Team,
  team,
} from '../test/org-helpers.ts';

const CALLERS = [
  'owner',
  'admin',
  'manager',
  'member',
  'key_all', // an API key of org A holding every scope
  'key_read', // an API key of org A holding prompts:read only
  'key_none', // an API key of org A holding an unrelated scope (phones:read)
  'outsider', // the owner of another org B
  'superuser', // the platform superuser with X-Switchboard-Org: <A>
  'anonymous',
] as const;
type Caller = (typeof CALLERS)[number];
type Expect = Record<Caller, number>;

let t: TestApp;
let a: Team;
let b: Team;
let su: Person;
const keys = {} as Record<'key_all' | 'key_read' | 'key_none', Record<string, string>>;
let promptId: string;
let superuserCalls = 0;
let phoneSeq = 0;

beforeAll(async () => {
  t = await buildTestApp({ env: ADMIN_ENV });
  a = await team(t);
  b = await team(t, 'Other Org');
  su = await superuser(t);
  keys.key_all = (await createKey(t.app, a.owner, [...API_KEY_SCOPES])).headers;
  keys.key_read = (await createKey(t.app, a.owner, ['prompts:read'])).headers;
  keys.key_none = (await createKey(t.app, a.owner, ['phones:read'])).headers;
  promptId = await newPrompt();
});
afterAll(() => t.close());

async function newPrompt(): Promise<string> {
  const res = await postPrompt(t.app, a.owner.headers, { name: 'owner prompt', content: 'hello' });
  return res.json().id;
}

async function freshMember(): Promise<string> {
  const user = await createUser(t.database);
  await addMember(t.database, a.org, user, 'member');
  return user.id;
}

async function freshInvitationId(): Promise<string> {
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/orgs/current/invitations',
    headers: a.owner.headers,
    payload: { email: uniqueEmail('inv'), role: 'member' },
  });
  return res.json().id;
}

/** An invitation to A with a known token, for an address with or without an account. */
async function invitationToken(existingAccount: boolean): Promise<string> {
  const email = uniqueEmail('accept');
  if (existingAccount) {
    // A verified account: only it may accept. (An unverified one is claimed by the token and a
    // new password instead: src/auth/mailbox-owner.security.test.ts.)
    const u = await createUser(t.database, { email });
    await withSystem(t.database, (tx) =>
      tx
        .updateTable('users')
        .set({ email_verified_at: new Date() })
        .where('id', '=', u.id)
        .execute(),
    );
  }
  const token = generateToken(32);
  await withSystem(t.database, (tx) =>
    tx
      .insertInto('invitations')
      .values({
        id: newId(),
        org_id: a.org.id,
        email,
        role: 'member',
        token_hash: hashToken(token),
        invited_by: a.owner.user.id,
        expires_at: new Date(Date.now() + 86_400_000),
      })
      .execute(),
  );
  return token;
}

async function headersOf(caller: Caller, fresh: boolean): Promise<Record<string, string>> {
  const people: Record<string, Person> = {
    owner: a.owner,
    admin: a.admin,
    manager: a.manager,
    member: a.member,
    outsider: b.owner,
  };
  switch (caller) {
    case 'key_all':
    case 'key_read':
    case 'key_none':
      return keys[caller];
    case 'anonymous':
      return {};
    case 'superuser': {
      superuserCalls++;
      const access = fresh ? (await logIn(t.app, su.email, ADMIN_PASSWORD)).access : su.access;
      return { ...bearer(access), 'x-switchboard-org': a.org.id };
    }
    default: {
      const p = people[caller]!;
      return fresh ? bearer((await logIn(t.app, p.email, GOOD_PASSWORD)).access) : p.headers;
    }
  }
}

interface Row {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  route: string;
  /** Builds the concrete URL and body; may create a fresh target for this one call. */
  prepare?: () => Promise<{ url?: string; body?: object }>;
  body?: () => object | string;
  /** A body that is not JSON (text/csv). */
  contentType?: string;
  /** Log in anew for this call: the call may end the caller's session. */
  fresh?: boolean;
  expect: Expect;
}

// Shorthands for the usual shapes of expectations.
const ADMINS_ONLY = (ok: number, outsider = ok): Expect => ({
  owner: ok,
  admin: ok,
  manager: 403,
  member: 403,
  key_all: 403,
  key_read: 403,
  key_none: 403,
  outsider,
  superuser: ok,
  anonymous: 401,
});
const PEOPLE = (ok: number): Expect => ({
  owner: ok,
  admin: ok,
  manager: ok,
  member: ok,
  key_all: 403,
  key_read: 403,
  key_none: 403,
  outsider: ok,
  superuser: ok,
  anonymous: 401,
});
/**
 * The superuser's platform routes: refused to everyone here, the superuser included, since this
 * matrix's superuser acts inside org A (X-Switchboard-Org), and a platform act is made in person
 * (src/admin/admin.security.test.ts calls them both ways).
 */
const PLATFORM_ONLY: Expect = {
  owner: 403,
  admin: 403,
  manager: 403,
  member: 403,
  key_all: 403,
  key_read: 403,
  key_none: 403,
  outsider: 403,
  superuser: 403,
  anonymous: 401,
};

const ROWS: Row[] = [
  // Orgs
  { method: 'GET', route: '/api/orgs', expect: PEOPLE(200) },
  { method: 'POST', route: '/api/orgs', body: () => ({ name: 'New Co' }), expect: PEOPLE(201) },
  {
    method: 'POST',
    route: '/api/auth/switch-org',
    body: () => ({ org_id: a.org.id }),
    fresh: true,
    // Only A's own members; the superuser acts in orgs by header, it does not join them.
    expect: { ...PEOPLE(200), outsider: 403, superuser: 403 },
  },
  {
    method: 'GET',
    route: '/api/orgs/current',
    expect: { ...PEOPLE(200), key_all: 200 },
  },
  {
    method: 'PATCH',
    route: '/api/orgs/current',
    body: () => ({ name: 'Acme Voice' }),
    expect: ADMINS_ONLY(200),
  },
  // Concurrency quotas (src/quotas/): everyone reads, keys with quotas:read too; admins set.
  { method: 'GET', route: '/api/orgs/current/usage', expect: { ...PEOPLE(200), key_all: 200 } },
  { method: 'GET', route: '/api/orgs/current/quotas', expect: { ...PEOPLE(200), key_all: 200 } },
  {
    method: 'PUT',
    route: '/api/orgs/current/quotas',
    body: () => ({
      max_live_calls: 50,
      inbound_reserved_calls: null,
      max_voice_sessions: null,
      max_device_sockets: null,
      max_scheduled_calls_per_day: null,
    }),
    expect: ADMINS_ONLY(200),
  },
  // Members
  {
    method: 'GET',
    route: '/api/orgs/current/members',
    // The users:read scope grants members:read (a key holding it lists the people of the org).
    expect: { ...PEOPLE(200), key_all: 200 },
  },
  {
    method: 'PATCH',
    route: '/api/orgs/current/members/:user_id',
    prepare: async () => ({ url: `/api/orgs/current/members/${await freshMember()}` }),
    body: () => ({ role: 'manager' }),
    expect: ADMINS_ONLY(200, 404),
  },
  {
    method: 'DELETE',
    route: '/api/orgs/current/members/:user_id',
    prepare: async () => ({ url: `/api/orgs/current/members/${await freshMember()}` }),
    expect: ADMINS_ONLY(204, 404),
  },
  {
    method: 'POST',
    route: '/api/orgs/current/users',
    body: () => ({ email: uniqueEmail('made'), role: 'member' }),
    // Only a member adds people: an address with an account would get an invitation, which the
    // superuser (no membership in A) cannot send, and the answer must not tell the two apart.
    expect: { ...ADMINS_ONLY(202), superuser: 403 },
  },
  // Invitations
  {
    method: 'POST',
    route: '/api/orgs/current/invitations',
    body: () => ({ email: uniqueEmail('invited'), role: 'member' }),
    // An invitation carries its inviter's membership, which the superuser has none of in A.
    expect: { ...ADMINS_ONLY(201), superuser: 403 },
  },
  {
    method: 'GET',
    route: '/api/orgs/current/invitations',
    expect: ADMINS_ONLY(200),
  },
  {
    method: 'DELETE',
    route: '/api/orgs/current/invitations/:id',
    prepare: async () => ({ url: `/api/orgs/current/invitations/${await freshInvitationId()}` }),
    expect: ADMINS_ONLY(204, 404),
  },
  {
    // For an address with a verified account: only that account may accept — none of these callers.
    method: 'POST',
    route: '/api/invitations/accept',
    prepare: async () => ({ body: { token: await invitationToken(true) } }),
    expect: { ...PEOPLE(403), key_all: 403, key_read: 403, key_none: 403, anonymous: 403 },
  },
  // API keys
  { method: 'GET', route: '/api/api-keys', expect: ADMINS_ONLY(200) },
  {
    method: 'POST',
    route: '/api/api-keys',
    body: () => ({ name: 'k', scopes: ['prompts:read'] }),
    // A key acts with its creator's membership: the superuser has none in A.
    expect: { ...ADMINS_ONLY(201), superuser: 403 },
  },
  {
    method: 'DELETE',
    route: '/api/api-keys/:id',
    prepare: async () => ({
      url: `/api/api-keys/${(await createKey(t.app, a.owner, ['prompts:read'])).id}`,
    }),
    expect: ADMINS_ONLY(204, 404),
  },
  // The superuser's routes: in person only, never while acting in an org
  { method: 'GET', route: '/api/admin/orgs', expect: PLATFORM_ONLY },
  { method: 'GET', route: '/api/admin/users', expect: PLATFORM_ONLY },
  {
    method: 'POST',
    route: '/api/admin/users/:id/disable',
    prepare: async () => ({ url: `/api/admin/users/${(await createUser(t.database)).id}/disable` }),
    expect: PLATFORM_ONLY,
  },
  {
    method: 'POST',
    route: '/api/admin/users/:id/enable',
    prepare: async () => ({ url: `/api/admin/users/${(await createUser(t.database)).id}/enable` }),
    expect: PLATFORM_ONLY,
  },
  { method: 'POST', route: '/api/admin/signing-keys/rotate', expect: PLATFORM_ONLY },
  {
    method: 'POST',
    route: '/api/admin/phone-assignments',
    // A number org A registered (pending) on the platform account: only the superuser assigns it.
    prepare: async () => {
      const number = `+1555${String(++phoneSeq).padStart(7, '0')}`;
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/phones',
        headers: a.owner.headers,
        payload: { number },
      });
      if (res.statusCode !== 201) throw new Error(`phone setup: ${res.body}`);
      return { body: { org_id: a.org.id, number } };
    },
    expect: PLATFORM_ONLY,
  },
  // The kill switch: the superuser suspends and resumes in person (fresh orgs); only
  // an org's owner locks it down (a wrong password here, so A stays in service: the owners of A
  // and of B get past the permission to the password check, everyone else is refused before).
  {
    method: 'POST',
    route: '/api/admin/orgs/:id/suspend',
    prepare: async () => ({ url: `/api/admin/orgs/${(await createOrg(t.database)).id}/suspend` }),
    body: () => ({ reason: 'matrix' }),
    expect: PLATFORM_ONLY,
  },
  {
    method: 'POST',
    route: '/api/admin/orgs/:id/resume',
    prepare: async () => {
      const org = await createOrg(t.database);
      await withSystem(t.database, (tx) =>
        tx
          .updateTable('orgs')
          .set({ suspended_at: new Date(), suspended_reason: 'x', suspension_kind: 'suspension' })
          .where('id', '=', org.id)
          .execute(),
      );
      return { url: `/api/admin/orgs/${org.id}/resume` };
    },
    body: () => ({ reason: 'matrix' }),
    expect: PLATFORM_ONLY,
  },
  { method: 'GET', route: '/api/admin/suspended-orgs', expect: PLATFORM_ONLY },
  { method: 'GET', route: '/api/admin/audit-logs', expect: PLATFORM_ONLY },
  {
    method: 'POST',
    route: '/api/orgs/current/lockdown',
    body: () => ({ reason: 'matrix', password: 'not the password at all' }),
    expect: { ...PLATFORM_ONLY, owner: 401, outsider: 401 },
  },
  // Device audio: tickets for people and audio:write keys; devices are the person's own (keys
  // never manage them; a client id that is not the caller's device is a 404).
  {
    method: 'POST',
    route: '/api/realtime/tickets',
    body: () => ({}),
    // A socket opens in its holder's own org: the gate refuses the superuser's X-Switchboard-Org
    // act, and so does the ticket route (the ticket would name the other org).
    expect: { ...PEOPLE(201), key_all: 201, superuser: 403 },
  },
  { method: 'GET', route: '/api/devices', expect: PEOPLE(200) },
  { method: 'DELETE', route: '/api/devices/abcdef-nothing', expect: PEOPLE(404) },
  // Prompts (a voice resource): members manage their own rows only.
  {
    method: 'GET',
    route: '/api/prompts',
    expect: { ...PEOPLE(200), key_all: 200, key_read: 200 },
  },
  {
    method: 'POST',
    route: '/api/prompts',
    body: () => ({ name: 'p', content: 'c' }),
    expect: { ...PEOPLE(201), key_all: 201 },
  },
  {
    method: 'GET',
    route: '/api/prompts/:id',
    prepare: async () => ({ url: `/api/prompts/${promptId}` }),
    expect: { ...PEOPLE(200), member: 404, outsider: 404, key_all: 200, key_read: 200 },
  },
  {
    method: 'PATCH',
    route: '/api/prompts/:id',
    prepare: async () => ({ url: `/api/prompts/${promptId}` }),
    body: () => ({ description: 'edited' }),
    expect: { ...PEOPLE(200), member: 404, outsider: 404, key_all: 200 },
  },
  {
    method: 'DELETE',
    route: '/api/prompts/:id',
    prepare: async () => ({ url: `/api/prompts/${await newPrompt()}` }),
    expect: { ...PEOPLE(204), member: 404, outsider: 404, key_all: 204 },
  },
  // The audit log
  { method: 'GET', route: '/api/audit-logs', expect: ADMINS_ONLY(200) },
  // Calling rules: the window (people only, owners and admins change it) and the do-not-call
  // list (do_not_call:read / do_not_call:write keys; managers and up change it).
  { method: 'GET', route: '/api/orgs/current/calling-window', expect: PEOPLE(200) },
  {
    method: 'PUT',
    route: '/api/orgs/current/calling-window',
    body: () => CALLING_WINDOW,
    expect: ADMINS_ONLY(200),
  },
  {
    method: 'DELETE',
    route: '/api/orgs/current/calling-window',
    prepare: async () => {
      await t.app.inject({
        method: 'PUT',
        url: '/api/orgs/current/calling-window',
        headers: a.owner.headers,
        payload: CALLING_WINDOW,
      });
      return {};
    },
    // B's owner removes B's own window (set by the PUT row above): it never reaches A's.
    expect: ADMINS_ONLY(204),
  },
  {
    method: 'GET',
    route: '/api/orgs/current/do-not-call',
    expect: { ...PEOPLE(200), key_all: 200 },
  },
  {
    method: 'POST',
    route: '/api/orgs/current/do-not-call',
    body: () => ({ number: nextNumber() }),
    expect: { ...PEOPLE(201), member: 403, key_all: 201 },
  },
  {
    method: 'POST',
    route: '/api/orgs/current/do-not-call/import',
    body: () => `number,reason\n${nextNumber()},matrix\n`,
    contentType: 'text/csv',
    expect: { ...PEOPLE(200), member: 403, key_all: 200 },
  },
  {
    method: 'DELETE',
    route: '/api/orgs/current/do-not-call/:id',
    prepare: async () => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/orgs/current/do-not-call',
        headers: a.owner.headers,
        payload: { number: nextNumber() },
      });
      return { url: `/api/orgs/current/do-not-call/${res.json().id}` };
    },
    expect: { ...PEOPLE(204), member: 403, key_all: 204, outsider: 404 },
  },
];

const CALLING_WINDOW = {
  time_zone: 'Europe/Berlin',
  days: [1, 2, 3],
  start: '09:00',
  end: '17:00',
};
let numberSeq = 0;
function nextNumber(): string {
  numberSeq++;
  return `+1628${String((Date.now() + numberSeq) % 10_000_000).padStart(7, '0')}`;
}

// Accepting an invitation for a NEW address needs no caller at all (the token is the credential):
// whoever sends it, the account is created. Kept out of the table's shape on purpose.
const ACCEPT_NEW: Row = {
  method: 'POST',
  route: '/api/invitations/accept',
  prepare: async () => ({ body: { token: await invitationToken(false), password: GOOD_PASSWORD } }),
  expect: Object.fromEntries(CALLERS.map((c) => [c, 201])) as Expect,
};

async function call(row: Row, caller: Caller): Promise<number> {
  const prepared = (await row.prepare?.()) ?? {};
  const headers = await headersOf(caller, row.fresh === true);
  const res = await t.app.inject({
    method: row.method,
    url: prepared.url ?? row.route,
    headers: row.contentType ? { ...headers, 'content-type': row.contentType } : headers,
    payload: prepared.body ?? row.body?.(),
  });
  if (res.statusCode >= 500)
    throw new Error(`${row.method} ${row.route} as ${caller}: ${res.body}`);
  return res.statusCode;
}

describe('the access matrix', () => {
  it('covers every route of these capabilities', () => {
    const covered = new Set([...ROWS, ACCEPT_NEW].map((r) => `${r.method} ${r.route}`));
    const mine = t.app.routeTable
      .filter((r) =>
        /^\/api\/(orgs|invitations|api-keys|admin|prompts|audit-logs)(\/|$)|^\/api\/auth\/switch-org$/.test(
          r.url,
        ),
      )
      .filter((r) => r.method !== 'HEAD')
      .map((r) => `${r.method} ${r.url.replace(/\/$/, '')}`);
    expect(mine.length).toBeGreaterThan(20);
    for (const route of mine) expect(covered, route).toContain(route);
  });

  it('every caller gets the expected status on every route', async () => {
    const mismatches: string[] = [];
    for (const row of [...ROWS, ACCEPT_NEW]) {
      for (const caller of CALLERS) {
        const got = await call(row, caller);
        if (got !== row.expect[caller]) {
          mismatches.push(
            `${row.method} ${row.route} as ${caller}: expected ${row.expect[caller]}, got ${got}`,
          );
        }
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('every superuser request above is in org A’s audit log, by the superuser', async () => {
    const acts = (await auditOf(t.database, a.org.id)).filter(
      (e) => e.action === 'superuser.request',
    );
    expect(superuserCalls).toBeGreaterThan(20);
    expect(acts).toHaveLength(superuserCalls);
    for (const e of acts) {
      expect(e).toMatchObject({ actor_user_id: su.user.id, actor_type: 'superuser' });
    }
    // And nothing of them in B's.
    expect(
      (await auditOf(t.database, b.org.id)).filter((e) => e.actor_type === 'superuser'),
    ).toEqual([]);
  });

  it('B’s owner did nothing in A: only refused attempts are on its record there', async () => {
    const trail = await auditOf(t.database, a.org.id);
    const byB = trail.filter((e) => e.actor_user_id === b.owner.user.id);
    expect(byB.length).toBeGreaterThan(0);
    for (const e of byB)
      expect(e).toMatchObject({ action: 'invitation.accept', outcome: 'failure' });
  });
});
