// The source documents' paths (README "Compatibility paths"): each alias answers exactly as its
// canonical route — same status, same body (or the same shape where tokens differ), same cookies
// — for success and for refusal. The cross-site refusal and the MFA enrolment gate over the
// aliases are walked with every other route in src/auth/login-csrf.security.test.ts and
// src/mfa/mfa-enrollment-gate.security.test.ts.
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Org, User } from './db/schema.ts';
import { buildTestApp, type TestApp } from './test/app.ts';
import {
  bearer,
  cookieHeader,
  cookiesFrom,
  GOOD_PASSWORD,
  type Registered,
  registerUser,
  updateProfile,
} from './test/auth-helpers.ts';
import { addMember, uniqueEmail } from './test/factories.ts';
import {
  awayFromStepEdge,
  capturingMailer,
  claimsOf,
  enrolMfa,
  passwordStep,
  totpNow,
} from './test/mfa-helpers.ts';

let t: TestApp;
let owner: Registered;
beforeAll(async () => {
  t = await buildTestApp({ deps: { mailer: capturingMailer() } });
  owner = await registerUser(t.app);
});
afterAll(async () => {
  await t?.close();
});

/** A JSON value with every leaf replaced by its type: equal shapes, whatever the tokens. */
function shape(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(shape);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shape(x)]));
  }
  return v === null ? null : typeof v;
}

/** What must be equal between an alias's answer and its canonical route's. */
function answer(res: LightMyRequestResponse, exact: boolean) {
  const json = res.body ? res.json() : null;
  return {
    status: res.statusCode,
    type: res.headers['content-type'],
    cookies: Object.keys(cookiesFrom(res)).sort(),
    body: exact ? json : shape(json),
  };
}

describe('POST /auth/register and POST /auth/login answer like /api/auth/*', () => {
  it('sign-up: 201, the same body and cookies; refusals alike', async () => {
    const body = () => ({
      email: uniqueEmail('compat'),
      password: GOOD_PASSWORD,
      full_name: 'Ada',
    });
    const [canonical, alias] = await Promise.all(
      ['/api/auth/register', '/auth/register'].map((url) =>
        t.app.inject({ method: 'POST', url, payload: body() }),
      ),
    );
    expect(alias!.statusCode, alias!.body).toBe(201);
    expect(answer(alias!, false)).toEqual(answer(canonical!, false));
    expect(cookiesFrom(alias!)).toHaveProperty('sb_csrf');
    expect(alias!.json().user.full_name).toBe('Ada');

    for (const payload of [
      { email: owner.email, password: GOOD_PASSWORD }, // taken
      { email: uniqueEmail('weak'), password: 'password' },
      { email: uniqueEmail('extra'), password: GOOD_PASSWORD, org_id: 'x' },
    ]) {
      const [c, a] = await Promise.all(
        ['/api/auth/register', '/auth/register'].map((url) =>
          t.app.inject({ method: 'POST', url, payload }),
        ),
      );
      const strip = (r: LightMyRequestResponse) => ({ ...r.json(), instance: 0, request_id: 0 });
      expect(a!.statusCode).toBeGreaterThanOrEqual(400);
      expect(a!.statusCode).toBe(c!.statusCode);
      expect(strip(a!)).toEqual(strip(c!));
    }
  });

  it('log-in: 200 with tokens and cookies, then a cookie session that works', async () => {
    const payload = { email: owner.email, password: owner.password };
    const canonical = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload });
    const alias = await t.app.inject({ method: 'POST', url: '/auth/login', payload });
    expect(alias.statusCode).toBe(200);
    expect(answer(alias, false)).toEqual(answer(canonical, false));
    const cookies = cookiesFrom(alias);
    const me = await t.app.inject({
      url: '/api/users/me',
      headers: { cookie: cookieHeader(cookies) },
    });
    expect(me.statusCode).toBe(200);
    expect(me.json().email).toBe(owner.email);

    const wrong = { email: owner.email, password: 'not the password at all' };
    const [c, a] = await Promise.all(
      ['/api/auth/login', '/auth/login'].map((url) =>
        t.app.inject({ method: 'POST', url, payload: wrong }),
      ),
    );
    expect(a!.statusCode).toBe(401);
    expect(a!.json().code).toBe(c!.json().code);
  });
});

describe('POST /api/auth/verify-mfa is the login second step', () => {
  it('completes an MFA login like /api/auth/mfa/verify, and refuses a wrong code alike', async () => {
    const u = await registerUser(t.app);
    const { secret } = await enrolMfa(t.app, u);
    const wrong = await t.app.inject({
      method: 'POST',
      url: '/api/auth/verify-mfa',
      payload: { mfa_token: await passwordStep(t.app, u.email, u.password), code: '000000' },
    });
    const wrongCanonical = await t.app.inject({
      method: 'POST',
      url: '/api/auth/mfa/verify',
      payload: { mfa_token: await passwordStep(t.app, u.email, u.password), code: '000000' },
    });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().code).toBe(wrongCanonical.json().code);

    // Enabling spent the current step; a code is accepted once. Use the next one.
    await awayFromStepEdge();
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/verify-mfa',
      payload: {
        mfa_token: await passwordStep(t.app, u.email, u.password),
        code: totpNow(secret, 1),
      },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(claimsOf(res.json().access_token).amr).toEqual(['pwd', 'mfa', 'otp']);
    expect(Object.keys(cookiesFrom(res)).sort()).toEqual(['sb_access', 'sb_csrf', 'sb_refresh']);
  });
});

describe('account and org aliases', () => {
  it('GET /api/auth/mfa/backup-codes: how many backup codes remain, as GET /api/auth/mfa', async () => {
    const u = await registerUser(t.app);
    const before = await t.app.inject({
      url: '/api/auth/mfa/backup-codes',
      headers: bearer(u.access),
    });
    expect(before.json()).toEqual({ enabled: false, enabled_at: null, backup_codes_remaining: 0 });
    await enrolMfa(t.app, u);
    const [c, a] = await Promise.all(
      ['/api/auth/mfa', '/api/auth/mfa/backup-codes'].map((url) =>
        t.app.inject({ url, headers: bearer(u.access) }),
      ),
    );
    expect(a!.statusCode).toBe(200);
    expect(a!.json().backup_codes_remaining).toBe(10);
    expect(answer(a!, true)).toEqual(answer(c!, true));
    const anonymous = await t.app.inject({ url: '/api/auth/mfa/backup-codes' });
    expect(anonymous.statusCode).toBe(401);
  });

  it('PUT /api/users/me updates the profile as PATCH does', async () => {
    const u = await registerUser(t.app);
    const put = await updateProfile(t.app, bearer(u.access), { full_name: 'Grace Hopper' }, 'PUT');
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json().full_name).toBe('Grace Hopper');
    const patch = await updateProfile(t.app, bearer(u.access), { full_name: 'Grace Hopper' });
    expect(answer(put, true)).toEqual(answer(patch, true));
    // With cookies, a write needs the CSRF token on the alias too.
    const noCsrf = await updateProfile(
      t.app,
      { cookie: cookieHeader(u.cookies) },
      { full_name: 'Mallory' },
      'PUT',
    );
    expect(noCsrf.statusCode).toBe(403);
    expect(noCsrf.json().code).toBe('csrf_failed');
    for (const method of ['PUT', 'PATCH'] as const) {
      const bad = await t.app.inject({
        method,
        url: '/api/users/me',
        headers: bearer(u.access),
        payload: { email: 'x@y.example' },
      });
      expect(bad.statusCode, method).toBe(400);
    }
  });

  it("GET /api/users/ lists the org's users as GET /api/orgs/current/members", async () => {
    const [c, a, noSlash] = await Promise.all(
      ['/api/orgs/current/members', '/api/users/', '/api/users'].map((url) =>
        t.app.inject({ url, headers: bearer(owner.access) }),
      ),
    );
    expect(a!.statusCode).toBe(200);
    expect(a!.json().items.map((m: { email: string }) => m.email)).toEqual([owner.email]);
    expect(answer(a!, true)).toEqual(answer(c!, true));
    expect(answer(noSlash!, true)).toEqual(answer(c!, true));
    expect((await t.app.inject({ url: '/api/users/' })).statusCode).toBe(401);
  });

  it('POST /api/create_user adds a person with display_name, as POST /api/orgs/current/users', async () => {
    const email = uniqueEmail('created');
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/create_user',
      headers: bearer(owner.access),
      payload: { email, display_name: 'John Doe' },
    });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toEqual({ email, role: 'member' });
    const members = await t.app.inject({ url: '/api/users/', headers: bearer(owner.access) });
    expect(members.json().items).toContainEqual(
      expect.objectContaining({ email, full_name: 'John Doe', role: 'member' }),
    );

    // The same refusals: an admin-chosen password, a member of the org again, a non-admin caller.
    const withPassword = await t.app.inject({
      method: 'POST',
      url: '/api/create_user',
      headers: bearer(owner.access),
      payload: { email: uniqueEmail('pw'), password: 'userpass', display_name: 'X' },
    });
    expect(withPassword.statusCode).toBe(400);
    const again = await t.app.inject({
      method: 'POST',
      url: '/api/create_user',
      headers: bearer(owner.access),
      payload: { email: owner.email },
    });
    const againCanonical = await t.app.inject({
      method: 'POST',
      url: '/api/orgs/current/users',
      headers: bearer(owner.access),
      payload: { email: owner.email, role: 'member' },
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe(againCanonical.json().code);
    // A member of the org (not an admin) is refused on both paths alike.
    const member = await registerUser(t.app);
    await addMember(
      t.database,
      { id: owner.orgId } as Org,
      { id: member.userId } as User,
      'member',
    );
    const switched = await t.app.inject({
      method: 'POST',
      url: '/api/auth/switch-org',
      headers: bearer(member.access),
      payload: { org_id: owner.orgId },
    });
    expect(switched.statusCode, switched.body).toBe(200);
    const asMember = bearer(switched.json().access_token);
    const [c, a] = await Promise.all([
      t.app.inject({
        method: 'POST',
        url: '/api/orgs/current/users',
        headers: asMember,
        payload: { email: uniqueEmail('m'), role: 'member' },
      }),
      t.app.inject({
        method: 'POST',
        url: '/api/create_user',
        headers: asMember,
        payload: { email: uniqueEmail('m') },
      }),
    ]);
    expect(a.statusCode).toBe(403);
    expect(a.json().code).toBe(c.json().code);
    const anonymous = await t.app.inject({
      method: 'POST',
      url: '/api/create_user',
      payload: { email },
    });
    expect(anonymous.statusCode).toBe(401);
  });

  it('every alias is hidden from the OpenAPI document (documented once, under /api)', async () => {
    const doc = (await t.app.inject({ url: '/openapi.json' })).json();
    for (const path of [
      '/auth/register',
      '/auth/login',
      '/api/auth/verify-mfa',
      '/api/users',
      '/api/create_user',
    ]) {
      expect(doc.paths[path], path).toBeUndefined();
    }
    expect(doc.paths['/api/auth/mfa/backup-codes'].get).toBeUndefined();
    expect(doc.paths['/api/users/me'].put).toBeUndefined();
    expect(doc.paths['/api/users/me'].patch).toBeDefined();
  });
});
