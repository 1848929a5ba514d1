// Accounts and sessions over HTTP: register, login, me, logout, sessions, password change,
// forward-auth, JWKS and the compatibility paths.
import { createLocalJWKSet, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { hashToken } from '../crypto/tokens.ts';
import { withSystem, withTenantRead } from '../db/tenant.ts';
import { appForFile, buildTestApp } from '../test/app.ts';
import {
  bearer,
  changePassword,
  cookieHeader,
  cookiesFrom,
  GOOD_PASSWORD,
  loginUser,
  logOut,
  registerUser,
  updateProfile,
} from '../test/auth-helpers.ts';
import { uniqueEmail } from '../test/factories.ts';
import { findUserInOrg, PUBLIC_USER_COLUMNS } from '../users/user.repository.ts';

const t = appForFile();

describe('register', () => {
  it('creates a company org owned by the user, answers tokens and sets cookies', async () => {
    const r = await registerUser(t.app, { company_name: 'Contoso Calls' });
    const body = r.res.json();
    expect(body).toMatchObject({
      user: {
        email: r.email,
        full_name: 'Ada Lovelace',
        email_verified: false,
        mfa_enabled: false,
      },
      org: { name: 'Contoso Calls', kind: 'company' },
      role: 'owner',
      token_type: 'bearer',
      expires_in: 900,
    });
    expect(body.user).not.toHaveProperty('password_hash');
    const cookies = r.res.cookies as {
      name: string;
      httpOnly?: boolean;
      sameSite?: string;
      path?: string;
      secure?: boolean;
    }[];
    const byName = Object.fromEntries(cookies.map((c) => [c.name, c]));
    expect(byName.sb_access).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
    expect(byName.sb_refresh).toMatchObject({
      httpOnly: true,
      sameSite: 'Lax',
      path: '/api/auth/refresh',
    });
    expect(byName.sb_csrf?.httpOnly).toBeFalsy();
    expect(byName.sb_access?.secure).toBeFalsy(); // plain-http localhost in test
    const me = await t.app.inject({ url: '/auth/me', headers: bearer(r.access) });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ id: r.userId, role: 'owner', org: { id: r.orgId } });
  });

  it('without a company name creates a personal workspace', async () => {
    const r = await t.app.inject({
      method: 'POST',
      url: '/api/auth/register',
      payload: { email: uniqueEmail(), password: GOOD_PASSWORD },
    });
    expect(r.statusCode).toBe(201);
    expect(r.json().org.kind).toBe('personal');
  });

  it("a personal workspace's name fits the org name's own limit, whatever the full name", async () => {
    // The longest full name (200 characters, each outside the BMP) plus "'s workspace" was 212
    // characters: a name PATCH /api/orgs/current refuses, so saving the settings form unchanged
    // failed. The name is cut, at a character boundary, to leave room for the suffix.
    const r = await registerUser(t.app, { company_name: '', full_name: '𝒜'.repeat(200) });
    const name: string = r.res.json().org.name;
    expect([...name]).toHaveLength(200);
    expect(name).toBe(`${'𝒜'.repeat(188)}'s workspace`);
    const unchanged = await t.app.inject({
      method: 'PATCH',
      url: '/api/orgs/current',
      headers: bearer(r.access),
      payload: { name },
    });
    expect(unchanged.statusCode).toBe(200);
  });

  it('normalises emails: trimmed, NFKC, case-insensitive; a taken email is 409', async () => {
    const local = uniqueEmail('norm').split('@')[0]!;
    const typed = `  ${local.toUpperCase()}@ＥＸＡＭＰＬＥ.test `;
    const r = await registerUser(t.app, { email: typed });
    expect(r.res.json().user.email).toBe(`${local}@example.test`);
    const again = await t.app.inject({
      method: 'POST',
      url: '/api/auth/register',
      payload: { email: `${local}@Example.TEST`, password: GOOD_PASSWORD },
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('email_taken');
    expect(
      (await loginUser(t.app, `${local.toUpperCase()}@example.test`, GOOD_PASSWORD)).statusCode,
    ).toBe(200);
  });

  it.each([
    ['too short', 'short pass', 'too_short'],
    ['too long', 'x'.repeat(129), 'too_long'],
    ['common', 'passwordpassword', 'common'],
  ])('refuses a %s password, saying which rule failed', async (_l, password, rule) => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/register',
      payload: { email: uniqueEmail(), password },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('weak_password');
    expect(res.json().errors.map((e: { rule: string }) => e.rule)).toContain(rule);
    expect(res.json().errors[0].field).toBe('password');
  });

  it('refuses a password containing the email', async () => {
    const email = uniqueEmail('someone');
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/register',
      payload: { email, password: `my ${email} is secret` },
    });
    expect(res.json().errors.map((e: { rule: string }) => e.rule)).toContain('personal_info');
  });

  it('accepts a long passphrase without composition rules, exactly as typed after NFKC', async () => {
    const password = 'ｆｕｌｌｗｉｄｔｈ passphrase ünïcode';
    const r = await registerUser(t.app, { password });
    expect((await loginUser(t.app, r.email, 'fullwidth passphrase ünïcode')).statusCode).toBe(200);
    expect((await loginUser(t.app, r.email, 'FULLWIDTH passphrase ünïcode')).statusCode).toBe(401);
  });

  it('rejects an invalid email and unknown fields (mass assignment) with 400', async () => {
    const bad = await t.app.inject({
      method: 'POST',
      url: '/api/auth/register',
      payload: { email: 'not-an-email', password: GOOD_PASSWORD },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors[0].field).toBe('email');
    const email = uniqueEmail();
    const mass = await t.app.inject({
      method: 'POST',
      url: '/api/auth/register',
      payload: { email, password: GOOD_PASSWORD, is_superuser: true },
    });
    expect(mass.statusCode).toBe(400);
    expect((await loginUser(t.app, email, GOOD_PASSWORD)).statusCode).toBe(401);
  });

  it('public sign-up can be turned off (403 signup_disabled)', async () => {
    const closed = await buildTestApp({ env: { SIGNUP_ENABLED: 'false' }, database: t.database });
    try {
      const res = await closed.app.inject({
        method: 'POST',
        url: '/api/auth/register',
        payload: { email: uniqueEmail(), password: GOOD_PASSWORD },
      });
      expect(res.statusCode).toBe(403);
      expect(res.json().code).toBe('signup_disabled');
    } finally {
      await closed.close();
    }
  });
});

describe('login', () => {
  it('answers tokens for the right password; the access token works as bearer and cookie', async () => {
    const r = await registerUser(t.app);
    const res = await loginUser(t.app, r.email, r.password);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({
      user: { id: r.userId },
      org: { id: r.orgId },
      role: 'owner',
      token_type: 'bearer',
    });
    expect(
      (await t.app.inject({ url: '/api/users/me', headers: bearer(body.access_token) })).statusCode,
    ).toBe(200);
    const viaCookie = await t.app.inject({
      url: '/api/users/me',
      headers: { cookie: cookieHeader(cookiesFrom(res)) },
    });
    expect(viaCookie.statusCode).toBe(200);
  });

  it('a disabled account gets 403 only after a correct password', async () => {
    const r = await registerUser(t.app);
    await withSystem(t.database, (tx) =>
      tx.updateTable('users').set({ status: 'disabled' }).where('id', '=', r.userId).execute(),
    );
    const right = await loginUser(t.app, r.email, r.password);
    expect(right.statusCode).toBe(403);
    expect(right.json().code).toBe('account_disabled');
    const wrong = await loginUser(t.app, r.email, 'definitely not the password');
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().code).toBe('invalid_credentials');
  });

  const storedHash = (userId: string) =>
    withSystem(t.database, (tx) =>
      tx
        .selectFrom('users')
        .select('password_hash')
        .where('id', '=', userId)
        .executeTakeFirstOrThrow(),
    );

  it('rehashes transparently when the argon2 parameters change', async () => {
    const r = await registerUser(t.app);
    const before = await storedHash(r.userId);
    expect(before.password_hash).toContain('m=1024,t=1');
    const stronger = await buildTestApp({
      env: { ARGON2_MEMORY_COST: '2048', ARGON2_TIME_COST: '2' },
      database: t.database,
    });
    try {
      expect((await loginUser(stronger.app, r.email, r.password)).statusCode).toBe(200);
    } finally {
      await stronger.close();
    }
    const after = await storedHash(r.userId);
    expect(after.password_hash).toContain('m=2048,t=2');
    expect((await loginUser(t.app, r.email, r.password)).statusCode).toBe(200);
  });

  it('two logins upgrading the same hash at once both succeed (the second keeps the first one)', async () => {
    const r = await registerUser(t.app);
    const stronger = await buildTestApp({
      env: { ARGON2_MEMORY_COST: '2048', ARGON2_TIME_COST: '2' },
      database: t.database,
    });
    try {
      const both = await Promise.all([
        loginUser(stronger.app, r.email, r.password),
        loginUser(stronger.app, r.email, r.password),
      ]);
      expect(both.map((res) => res.statusCode)).toEqual([200, 200]);
    } finally {
      await stronger.close();
    }
    expect((await storedHash(r.userId)).password_hash).toContain('m=2048,t=2');
  });
});

describe('me', () => {
  it('GET /auth/me and /api/users/me describe the user, org, role, MFA and verification', async () => {
    const r = await registerUser(t.app);
    for (const url of ['/auth/me', '/api/users/me']) {
      const res = await t.app.inject({ url, headers: bearer(r.access) });
      expect(res.json()).toMatchObject({
        id: r.userId,
        email: r.email,
        role: 'owner',
        org: { id: r.orgId, kind: 'company' },
        mfa_enabled: false,
        email_verified: false,
        amr: ['pwd'],
      });
    }
  });

  it('reads the public columns only: never the password hash or a TOTP secret', async () => {
    const r = await registerUser(t.app);
    const me = await withTenantRead(
      t.database,
      { orgId: r.orgId, userId: r.userId, role: 'owner' },
      (tx) => findUserInOrg(tx, r.userId, r.orgId),
    );
    expect(Object.keys(me!.user).sort()).toEqual([...PUBLIC_USER_COLUMNS].sort());
    expect(me!.org).toEqual({ id: r.orgId, name: expect.any(String), kind: 'company' });
  });

  it('PATCH /api/users/me changes profile fields only', async () => {
    const r = await registerUser(t.app);
    const ok = await updateProfile(t.app, bearer(r.access), { full_name: 'Grace Hopper' });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().full_name).toBe('Grace Hopper');
    for (const field of [
      'role',
      'org_id',
      'is_superuser',
      'email',
      'password',
      'password_hash',
      'status',
    ]) {
      const res = await updateProfile(t.app, bearer(r.access), {
        full_name: 'X',
        [field]: field === 'is_superuser' ? true : 'owner@evil.test',
      });
      expect(res.statusCode, field).toBe(400);
    }
    const me = await t.app.inject({ url: '/api/users/me', headers: bearer(r.access) });
    expect(me.json()).toMatchObject({
      full_name: 'Grace Hopper',
      email: r.email,
      is_superuser: false,
      role: 'owner',
    });
  });
});

describe('logout and sessions', () => {
  it('logout ends the current session: its access and refresh tokens stop working', async () => {
    const r = await registerUser(t.app);
    const res = await logOut(t.app, bearer(r.access));
    expect(res.statusCode).toBe(204);
    expect((await t.app.inject({ url: '/auth/me', headers: bearer(r.access) })).statusCode).toBe(
      401,
    );
    const refresh = await t.app.inject({
      method: 'POST',
      url: '/api/auth/refresh',
      payload: { refresh_token: r.refresh },
    });
    expect(refresh.statusCode).toBe(401);
  });

  it('logout-all ends every session of the user', async () => {
    const r = await registerUser(t.app);
    const second = (await loginUser(t.app, r.email, r.password)).json();
    expect((await logOut(t.app, bearer(second.access_token), true)).statusCode).toBe(204);
    expect((await t.app.inject({ url: '/auth/me', headers: bearer(r.access) })).statusCode).toBe(
      401,
    );
    expect(
      (await t.app.inject({ url: '/auth/me', headers: bearer(second.access_token) })).statusCode,
    ).toBe(401);
  });

  it('lists live sessions with the current one marked, and revokes one', async () => {
    const r = await registerUser(t.app);
    const other = (
      await loginUser(t.app, r.email, r.password, { 'user-agent': 'Phone/1.0' })
    ).json();
    const list = await t.app.inject({ url: '/api/auth/sessions', headers: bearer(r.access) });
    expect(list.statusCode).toBe(200);
    const items = list.json().items as {
      id: string;
      current: boolean;
      user_agent: string | null;
      ip: string;
    }[];
    expect(items).toHaveLength(2);
    expect(items.filter((s) => s.current)).toHaveLength(1);
    const phone = items.find((s) => s.user_agent === 'Phone/1.0')!;
    expect(phone.current).toBe(false);
    expect(phone.ip).toBeTruthy();
    const del = await t.app.inject({
      method: 'DELETE',
      url: `/api/auth/sessions/${phone.id}`,
      headers: bearer(r.access),
    });
    expect(del.statusCode).toBe(204);
    expect(
      (await t.app.inject({ url: '/auth/me', headers: bearer(other.access_token) })).statusCode,
    ).toBe(401);
    expect((await t.app.inject({ url: '/auth/me', headers: bearer(r.access) })).statusCode).toBe(
      200,
    );
  });

  it('leaves out a session whose refresh chain died of idleness: it can never be used again', async () => {
    const r = await registerUser(t.app);
    const idle = (await loginUser(t.app, r.email, r.password, { 'user-agent': 'Idle/1.0' })).json();
    const me = await t.app.inject({ url: '/auth/me', headers: bearer(idle.access_token) });
    expect(me.statusCode).toBe(200);
    // REFRESH_TOKEN_IDLE_TTL_SECONDS has passed for the Idle session's refresh token.
    await withSystem(t.database, (tx) =>
      tx
        .updateTable('refresh_tokens')
        .set({ expires_at: new Date(Date.now() - 1000) })
        .where('token_hash', '=', hashToken(idle.refresh_token))
        .execute(),
    );
    const refreshed = await t.app.inject({
      method: 'POST',
      url: '/api/auth/refresh',
      payload: { refresh_token: idle.refresh_token },
    });
    expect(refreshed.statusCode).toBe(401);
    const list = await t.app.inject({ url: '/api/auth/sessions', headers: bearer(r.access) });
    const agents = list.json().items.map((s: { user_agent: string | null }) => s.user_agent);
    expect(agents).toHaveLength(1);
    expect(agents).not.toContain('Idle/1.0');
  });

  it("another user's session id is a 404 and stays alive", async () => {
    const a = await registerUser(t.app);
    const b = await registerUser(t.app);
    const bSessions = (
      await t.app.inject({ url: '/api/auth/sessions', headers: bearer(b.access) })
    ).json().items;
    const res = await t.app.inject({
      method: 'DELETE',
      url: `/api/auth/sessions/${bSessions[0].id}`,
      headers: bearer(a.access),
    });
    expect(res.statusCode).toBe(404);
    expect((await t.app.inject({ url: '/auth/me', headers: bearer(b.access) })).statusCode).toBe(
      200,
    );
    // A refused revoke is no act: nothing in the caller's trail, and not the other user's id.
    const trail = await withSystem(t.database, (tx) =>
      tx
        .selectFrom('audit_logs')
        .select(['action', 'target_id'])
        .where('action', '=', 'auth.session_revoke')
        .where('actor_user_id', '=', a.userId)
        .execute(),
    );
    expect(trail).toEqual([]);
  });

  it('a revoke of an own session is audited with the session it ended', async () => {
    const r = await registerUser(t.app);
    const other = (await loginUser(t.app, r.email, r.password)).json();
    const sessions = (
      await t.app.inject({ url: '/api/auth/sessions', headers: bearer(r.access) })
    ).json().items as { id: string; current: boolean }[];
    const target = sessions.find((s) => !s.current)!;
    const del = await t.app.inject({
      method: 'DELETE',
      url: `/api/auth/sessions/${target.id}`,
      headers: bearer(r.access),
    });
    expect(del.statusCode).toBe(204);
    expect(
      (await t.app.inject({ url: '/auth/me', headers: bearer(other.access_token) })).statusCode,
    ).toBe(401);
    const trail = await withSystem(t.database, (tx) =>
      tx
        .selectFrom('audit_logs')
        .select(['target_id', 'outcome', 'metadata'])
        .where('action', '=', 'auth.session_revoke')
        .where('actor_user_id', '=', r.userId)
        .execute(),
    );
    expect(trail).toEqual([
      { target_id: target.id, outcome: 'success', metadata: { sessions_ended: 1 } },
    ]);
  });

  it('an ended session is refused on another instance within 5 seconds', async () => {
    const other = await buildTestApp({ database: t.database, env: { REVOCATION_POLL_MS: '200' } });
    try {
      const r = await registerUser(t.app);
      expect(
        (await other.app.inject({ url: '/auth/me', headers: bearer(r.access) })).statusCode,
      ).toBe(200);
      await logOut(t.app, bearer(r.access));
      const start = Date.now();
      let status = 200;
      while (Date.now() - start < 5000) {
        status = (await other.app.inject({ url: '/auth/me', headers: bearer(r.access) }))
          .statusCode;
        if (status === 401) break;
        await new Promise((res) => setTimeout(res, 100));
      }
      expect(status).toBe(401);
      expect(Date.now() - start).toBeLessThan(5000);
    } finally {
      await other.close();
    }
  });
});

describe('password change', () => {
  it('needs the current password, applies the rules, and ends every other session', async () => {
    const r = await registerUser(t.app);
    const other = (await loginUser(t.app, r.email, r.password)).json();
    const wrong = await changePassword(
      t.app,
      bearer(r.access),
      'not my password at all',
      'a brand new passphrase 99',
    );
    expect(wrong.statusCode).toBe(401);
    const weak = await changePassword(t.app, bearer(r.access), r.password, 'short');
    expect(weak.statusCode).toBe(400);
    expect(weak.json().errors[0].field).toBe('new_password');
    const ok = await changePassword(
      t.app,
      bearer(r.access),
      r.password,
      'a brand new passphrase 99',
    );
    expect(ok.statusCode).toBe(204);
    expect((await t.app.inject({ url: '/auth/me', headers: bearer(r.access) })).statusCode).toBe(
      200,
    );
    expect(
      (await t.app.inject({ url: '/auth/me', headers: bearer(other.access_token) })).statusCode,
    ).toBe(401);
    expect((await loginUser(t.app, r.email, r.password)).statusCode).toBe(401);
    expect((await loginUser(t.app, r.email, 'a brand new passphrase 99')).statusCode).toBe(200);
  });

  it('the current password again (or its full-width spelling) is a 400 that changes nothing', async () => {
    const r = await registerUser(t.app);
    const other = (await loginUser(t.app, r.email, r.password)).json();
    for (const same of [r.password, r.password.replace('c', '\uff43')]) {
      const res = await changePassword(t.app, bearer(r.access), r.password, same);
      expect(res.statusCode).toBe(400);
      expect(res.json().errors).toEqual([
        { field: 'new_password', message: 'must differ from the current password' },
      ]);
    }
    // Nothing happened: the other session lives, and no change is in the trail.
    expect(
      (await t.app.inject({ url: '/auth/me', headers: bearer(other.access_token) })).statusCode,
    ).toBe(200);
    const changes = await withSystem(t.database, (tx) =>
      tx
        .selectFrom('audit_logs')
        .select('outcome')
        .where('action', '=', 'auth.password_change')
        .where('actor_user_id', '=', r.userId)
        .execute(),
    );
    expect(changes).toEqual([]);
  });
});

describe('forward-auth, JWKS and compatibility paths', () => {
  it('GET /api/auth/verify answers identity headers for a valid token, 401 otherwise', async () => {
    const r = await registerUser(t.app);
    const res = await t.app.inject({ url: '/api/auth/verify', headers: bearer(r.access) });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-switchboard-user']).toBe(r.userId);
    expect(res.headers['x-switchboard-org']).toBe(r.orgId);
    expect(res.headers['x-switchboard-role']).toBe('owner');
    expect(res.headers['x-switchboard-session']).toBeTruthy();
    expect(res.json()).toMatchObject({ user_id: r.userId, org_id: r.orgId, role: 'owner' });
    expect((await t.app.inject({ url: '/api/auth/verify' })).statusCode).toBe(401);
    const viaCookie = await t.app.inject({
      url: '/api/auth/verify',
      headers: { cookie: cookieHeader(r.cookies) },
    });
    expect(viaCookie.statusCode).toBe(200);
  });

  it('access tokens verify against the published JWKS, with the documented claims', async () => {
    const r = await registerUser(t.app);
    const jwks = (await t.app.inject({ url: '/.well-known/jwks.json' })).json();
    expect(jwks.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
    expect(jwks.keys[0]).not.toHaveProperty('d');
    const { payload, protectedHeader } = await jwtVerify(r.access, createLocalJWKSet(jwks), {
      issuer: t.config.auth.issuer,
      audience: 'switchboard',
    });
    expect(protectedHeader).toMatchObject({ alg: 'EdDSA', typ: 'at+jwt' });
    expect(protectedHeader.kid).toBe(jwks.keys[0].kid);
    expect(payload).toMatchObject({ sub: r.userId, org: r.orgId, role: 'owner', amr: ['pwd'] });
    expect(typeof payload.sid).toBe('string');
    expect(payload.exp! - payload.iat!).toBe(900);
  });

  const postForm = (url: string, form: string) =>
    t.app.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: form,
    });

  it('POST /auth/jwt/login (form) answers a bearer token; /auth/cookie/login sets cookies; /auth/logout ends it', async () => {
    const r = await registerUser(t.app);
    const form = `username=${encodeURIComponent(r.email)}&password=${encodeURIComponent(r.password)}&grant_type=password`;
    const jwt = await postForm('/auth/jwt/login', form);
    expect(jwt.statusCode).toBe(200);
    expect(jwt.json()).toEqual({ access_token: expect.any(String), token_type: 'bearer' });
    const cookie = await postForm('/auth/cookie/login', form);
    expect(cookie.statusCode).toBe(204);
    const jar = cookiesFrom(cookie);
    expect(jar.sb_access).toBeTruthy();
    const out = await t.app.inject({
      method: 'POST',
      url: '/auth/logout',
      headers: { cookie: cookieHeader(jar), 'x-csrf-token': jar.sb_csrf! },
    });
    expect(out.statusCode).toBe(204);
    expect(
      (await t.app.inject({ url: '/auth/me', headers: { cookie: cookieHeader(jar) } })).statusCode,
    ).toBe(401);
    const badForm = await postForm(
      '/auth/jwt/login',
      `username=${encodeURIComponent(r.email)}&password=wrong-password-here`,
    );
    expect(badForm.statusCode).toBe(401);
  });

  it('cookies are Secure when PUBLIC_URL is https', async () => {
    const secure = await buildTestApp({
      database: t.database,
      env: { PUBLIC_URL: 'https://switchboard.example' },
    });
    try {
      const r = await registerUser(secure.app);
      for (const c of r.res.cookies as { secure?: boolean }[]) expect(c.secure).toBe(true);
    } finally {
      await secure.close();
    }
  });
});
