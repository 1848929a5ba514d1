// Hostile cases for accounts and sessions: forged tokens, CSRF, user enumeration, brute force,
// spoofed client IPs, secrets in the audit trail.
import { generateKeyPair, SignJWT } from 'jose';
import { describe, expect, it, vi } from 'vitest';
import { withSystem } from '../db/tenant.ts';
import { appForFile, buildTestApp } from '../test/app.ts';
import { phcParams } from '../test/argon2.ts';
import {
  bearer,
  changePassword,
  cookieHeader,
  cookiesFrom,
  GOOD_PASSWORD,
  loginUser,
  logOut,
  postWithCookiesOnly,
  registerUser,
} from '../test/auth-helpers.ts';
import { uniqueEmail } from '../test/factories.ts';
import { postPrompt } from '../test/org-helpers.ts';

// Every argon2id verification the server runs, by the hash it checked: an unknown email must cost
// the same work as a wrong password (one verification at the configured cost), which is counted
// here instead of timed (a timing comparison failed under a loaded CI machine).
const argon2 = vi.hoisted(() => ({ verified: [] as string[], running: 0, mostAtOnce: 0 }));
vi.mock('@node-rs/argon2', async (original) =>
  (await import('../test/argon2.ts')).recordingArgon2(await original(), argon2),
);

const t = appForFile();

const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
const me = (headers: Record<string, string>) => t.app.inject({ url: '/auth/me', headers });

describe('forged and tampered access tokens are 401', () => {
  it('alg none, HMAC with the public key, an attacker key under our kid, a changed claim', async () => {
    const r = await registerUser(t.app);
    const [h, p, s] = r.access.split('.') as [string, string, string];
    const header = JSON.parse(Buffer.from(h, 'base64url').toString());
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString());
    const jwks = (await t.app.inject({ url: '/.well-known/jwks.json' })).json();

    const none = `${b64({ ...header, alg: 'none' })}.${p}.`;
    const hmac = await new SignJWT(payload)
      .setProtectedHeader({ alg: 'HS256', kid: header.kid, typ: 'at+jwt' })
      .sign(new TextEncoder().encode(JSON.stringify(jwks.keys[0])));
    const attacker = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const foreign = await new SignJWT(payload)
      .setProtectedHeader({ alg: 'EdDSA', kid: header.kid, typ: 'at+jwt' })
      .sign(attacker.privateKey);
    const escalated = `${h}.${b64({ ...payload, role: 'owner', org: '00000000-0000-7000-8000-000000000000' })}.${s}`;
    const superuser = `${h}.${b64({ ...payload, su: true })}.${s}`;
    const unknownKid = `${b64({ ...header, kid: 'nope' })}.${p}.${s}`;

    for (const [label, token] of Object.entries({
      none,
      hmac,
      foreign,
      escalated,
      superuser,
      unknownKid,
    })) {
      const res = await me(bearer(token));
      expect(res.statusCode, label).toBe(401);
      expect(res.json().code, label).toBe('unauthenticated');
    }
    expect((await me(bearer(r.access))).statusCode).toBe(200);
  });

  it('expired tokens and tokens for another issuer or audience', async () => {
    const r = await registerUser(t.app);
    const otherIssuer = await buildTestApp({
      database: t.database,
      env: { JWT_ISSUER: 'https://evil.example' },
    });
    const otherAudience = await buildTestApp({
      database: t.database,
      env: { JWT_AUDIENCE: 'someone-else' },
    });
    try {
      // Same signing keys (same database), different claims: only the claims can make them fail.
      const fromOtherIssuer = (await loginUser(otherIssuer.app, r.email, r.password)).json()
        .access_token;
      const fromOtherAudience = (await loginUser(otherAudience.app, r.email, r.password)).json()
        .access_token;
      expect((await me(bearer(fromOtherIssuer))).statusCode).toBe(401);
      expect((await me(bearer(fromOtherAudience))).statusCode).toBe(401);
      // A correctly signed token whose exp has passed (signed with the real key).
      const ring = t.app.auth.getKeyRing();
      const past = Math.floor(Date.now() / 1000) - 3600;
      const expired = await new SignJWT({
        sub: r.userId,
        sid: '00000000-0000-7000-8000-000000000000',
        org: r.orgId,
        role: 'owner',
        amr: ['pwd'],
      })
        .setProtectedHeader({ alg: 'EdDSA', kid: ring.active.kid, typ: 'at+jwt' })
        .setIssuer(t.config.auth.issuer)
        .setAudience(t.config.auth.audience)
        .setIssuedAt(past - 900)
        .setExpirationTime(past)
        .sign(ring.active.privateKey);
      expect((await me(bearer(expired))).statusCode).toBe(401);
    } finally {
      await Promise.all([otherIssuer.close(), otherAudience.close()]);
    }
  });

  it('signing keys can be rotated: old tokens stay valid, new ones carry the new kid', async () => {
    const r = await registerUser(t.app);
    const { rotateSigningKey } = await import('./signing-keys.ts');
    const before = t.app.auth.getKeyRing().active.kid;
    // No publish delay: the key signs at once (staging is covered in key-rotation.security.test.ts).
    await rotateSigningKey(t.database, t.config.encryption, { publishDelaySeconds: 0 });
    await t.app.auth.reloadKeys(true);
    expect((await me(bearer(r.access))).statusCode).toBe(200);
    const fresh = (await loginUser(t.app, r.email, r.password)).json().access_token;
    const kid = JSON.parse(Buffer.from(fresh.split('.')[0], 'base64url').toString()).kid;
    expect(kid).not.toBe(before);
    expect((await me(bearer(fresh))).statusCode).toBe(200);
    const jwks = (await t.app.inject({ url: '/.well-known/jwks.json' })).json();
    expect(jwks.keys.map((k: { kid: string }) => k.kid).sort()).toEqual([before, kid].sort());
  });
});

describe('CSRF', () => {
  it('a cookie-authenticated write needs X-CSRF-Token equal to sb_csrf', async () => {
    const r = await registerUser(t.app);
    const cookie = cookieHeader(r.cookies);
    const create = (headers: Record<string, string>) =>
      postPrompt(t.app, headers, { name: 'n', content: 'c' });
    const missing = await create({ cookie });
    expect(missing.statusCode).toBe(403);
    expect(missing.json().code).toBe('csrf_failed');
    const wrong = await create({ cookie, 'x-csrf-token': 'guess' });
    expect(wrong.statusCode).toBe(403);
    expect((await create({ cookie, 'x-csrf-token': r.cookies.sb_csrf! })).statusCode).toBe(201);
    // Reads need no CSRF header; bearer writes need none either.
    expect((await t.app.inject({ url: '/api/prompts', headers: { cookie } })).statusCode).toBe(200);
    expect((await create(bearer(r.access))).statusCode).toBe(201);
  });

  it('the CSRF token is bound to its session: a planted pair or another session’s token is refused', async () => {
    const victim = await registerUser(t.app);
    const attacker = await registerUser(t.app);
    const create = (headers: Record<string, string>) =>
      postPrompt(t.app, headers, { name: 'n', content: 'c' });
    // A cookie planted from a sibling subdomain and the same value in the header: double-submit
    // alone would take it.
    const planted = await create({
      cookie: cookieHeader({ ...victim.cookies, sb_csrf: 'planted-value-0123456789abcdef' }),
      'x-csrf-token': 'planted-value-0123456789abcdef',
    });
    expect(planted.statusCode).toBe(403);
    expect(planted.json().code).toBe('csrf_failed');
    // The attacker's own, genuine token (of their session) with the victim's session.
    const borrowed = await create({
      cookie: cookieHeader({ ...victim.cookies, sb_csrf: attacker.cookies.sb_csrf! }),
      'x-csrf-token': attacker.cookies.sb_csrf!,
    });
    expect(borrowed.statusCode).toBe(403);
    expect(attacker.cookies.sb_csrf).not.toBe(victim.cookies.sb_csrf);

    // The session keeps its token across refreshes; the page's cookie stays right.
    const refreshed = await t.app.inject({
      method: 'POST',
      url: '/api/auth/refresh',
      headers: {
        cookie: cookieHeader(victim.cookies),
        'x-csrf-token': victim.cookies.sb_csrf!,
      },
    });
    expect(refreshed.statusCode, refreshed.body).toBe(200);
    const after = cookiesFrom(refreshed);
    expect(after.sb_csrf).toBe(victim.cookies.sb_csrf);
    const ok = await create({
      cookie: cookieHeader({ ...victim.cookies, ...after }),
      'x-csrf-token': after.sb_csrf!,
    });
    expect(ok.statusCode, ok.body).toBe(201);
    // Another login of the same person is another session, with a token of its own.
    const again = await loginUser(t.app, victim.email, victim.password);
    expect(cookiesFrom(again).sb_csrf).not.toBe(victim.cookies.sb_csrf);
  });

  it('logout by cookie without the CSRF header does not end the session', async () => {
    const r = await registerUser(t.app);
    const res = await postWithCookiesOnly(t.app, '/api/auth/logout', r.cookies);
    expect(res.statusCode).toBe(403);
    expect((await me(bearer(r.access))).statusCode).toBe(200);
  });
});

describe('user enumeration', () => {
  it('unknown email and wrong password give the same status and body, and the same password work', async () => {
    // Production-cost hashing: the dummy verification must be made at the configured cost too.
    const real = await buildTestApp({
      database: t.database,
      env: { ARGON2_MEMORY_COST: '19456', ARGON2_TIME_COST: '2' },
    });
    try {
      const r = await registerUser(real.app);
      const stored = await withSystem(t.database, (tx) =>
        tx
          .selectFrom('users')
          .select('password_hash')
          .where('id', '=', r.userId)
          .executeTakeFirstOrThrow(),
      );
      const strip = (x: Record<string, unknown>) => ({ ...x, request_id: undefined });
      const attempt = async (email: string) => {
        argon2.verified.length = 0;
        const res = await loginUser(real.app, email, 'wrong password for sure 123');
        return { res, verified: [...argon2.verified] };
      };
      const known = await attempt(r.email);
      const unknown = await attempt(uniqueEmail('ghost'));
      expect(known.res.statusCode).toBe(401);
      expect(unknown.res.statusCode).toBe(401);
      expect(strip(known.res.json())).toEqual(strip(unknown.res.json()));
      expect(Object.keys(known.res.headers).sort()).toEqual(
        Object.keys(unknown.res.headers).sort(),
      );
      // One argon2id verification each, at the same parameters: the account's own hash, and for
      // the address with no account a dummy hash (without it that path would do no hashing).
      expect(known.verified).toEqual([stored.password_hash]);
      expect(unknown.verified).toHaveLength(1);
      expect(unknown.verified[0]).not.toBe(stored.password_hash);
      expect(phcParams(unknown.verified[0]!)).toBe('m=19456,t=2,p=1');
      expect(phcParams(known.verified[0]!)).toBe('m=19456,t=2,p=1');
    } finally {
      await real.close();
    }
  });
});

describe('brute force', () => {
  it('locks an (account, IP) pair with 429 + Retry-After; the owner still logs in from another IP; unlocks by time', async () => {
    const limited = await buildTestApp({
      database: t.database,
      env: {
        TRUST_PROXY: '127.0.0.1',
        RATE_LIMIT_LOGIN_ACCOUNT_IP: '3/2',
        RATE_LIMIT_LOGIN_ACCOUNT: '10/2',
      },
    });
    try {
      const r = await registerUser(limited.app);
      const from = (ip: string, password: string) =>
        loginUser(limited.app, r.email, password, { 'x-forwarded-for': ip });
      for (let i = 0; i < 3; i++)
        expect((await from('203.0.113.7', 'wrong password attempt')).statusCode).toBe(401);
      const blocked = await from('203.0.113.7', r.password);
      expect(blocked.statusCode).toBe(429);
      expect(blocked.json().code).toBe('rate_limited');
      const retry = Number(blocked.headers['retry-after']);
      expect(retry).toBeGreaterThanOrEqual(1);
      expect(retry).toBeLessThanOrEqual(2);
      expect((await from('198.51.100.9', r.password)).statusCode).toBe(200);
      await new Promise((res) => setTimeout(res, 2200));
      expect((await from('203.0.113.7', r.password)).statusCode).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('unknown emails are throttled exactly like real ones', async () => {
    const limited = await buildTestApp({
      database: t.database,
      env: { RATE_LIMIT_LOGIN_ACCOUNT_IP: '2/60', RATE_LIMIT_LOGIN_ACCOUNT: '10/60' },
    });
    try {
      const ghost = uniqueEmail('ghost');
      expect((await loginUser(limited.app, ghost, 'x')).statusCode).toBe(401);
      expect((await loginUser(limited.app, ghost, 'x')).statusCode).toBe(401);
      expect((await loginUser(limited.app, ghost, 'x')).statusCode).toBe(429);
    } finally {
      await limited.close();
    }
  });

  it('X-Forwarded-For is ignored unless TRUST_PROXY names the proxy (a client cannot pick its IP)', async () => {
    const limited = await buildTestApp({
      database: t.database,
      env: { RATE_LIMIT_LOGIN_ACCOUNT_IP: '2/60', RATE_LIMIT_LOGIN_ACCOUNT: '10/60' },
    });
    try {
      const r = await registerUser(limited.app);
      for (let i = 0; i < 2; i++) {
        await loginUser(limited.app, r.email, 'nope nope nope', {
          'x-forwarded-for': `203.0.113.${i}`,
        });
      }
      const spoofed = await loginUser(limited.app, r.email, r.password, {
        'x-forwarded-for': '198.51.100.77',
      });
      expect(spoofed.statusCode).toBe(429);
    } finally {
      await limited.close();
    }
  });
});

describe('audit log', () => {
  it('records the security acts with IP, user agent, request id and outcome, and never a secret', async () => {
    const r = await registerUser(t.app, {}, { 'user-agent': 'AuditTest/1.0' });
    await loginUser(t.app, r.email, 'wrong password again 1', { 'user-agent': 'AuditTest/1.0' });
    const second = (await loginUser(t.app, r.email, r.password)).json();
    await changePassword(
      t.app,
      bearer(second.access_token),
      r.password,
      'another long passphrase 77',
    );
    const sessions = (
      await t.app.inject({ url: '/api/auth/sessions', headers: bearer(second.access_token) })
    ).json();
    await logOut(t.app, bearer(second.access_token));
    expect(sessions.items).toHaveLength(1);

    const third = (await loginUser(t.app, r.email, 'another long passphrase 77')).json();
    const res = await t.app.inject({
      url: '/api/audit-logs?limit=100',
      headers: bearer(third.access_token),
    });
    expect(res.statusCode).toBe(200);
    const items = res.json().items as Record<string, unknown>[];
    const actions = items.map((i) => `${i.action}:${i.outcome}`);
    expect(actions).toEqual(
      expect.arrayContaining([
        'user.register:success',
        'auth.login:success',
        'auth.password_change:success',
        'auth.logout:success',
      ]),
    );
    const reg = items.find((i) => i.action === 'user.register')!;
    expect(reg).toMatchObject({
      actor_user_id: r.userId,
      user_agent: 'AuditTest/1.0',
      ip: expect.any(String),
    });
    expect(reg.request_id).toBeTruthy();
    const everything = JSON.stringify(items);
    for (const secret of [
      r.password,
      'another long passphrase 77',
      r.refresh,
      r.access,
      second.refresh_token,
    ]) {
      expect(everything).not.toContain(secret);
    }
    // Failed logins of a known user are recorded (outside any org context: system-wide).
    const failures = await withSystem(t.database, (tx) =>
      tx
        .selectFrom('audit_logs')
        .select(['outcome', 'user_agent'])
        .where('actor_user_id', '=', r.userId)
        .where('action', '=', 'auth.login')
        .where('outcome', '=', 'failure')
        .execute(),
    );
    expect(failures).toEqual([{ outcome: 'failure', user_agent: 'AuditTest/1.0' }]);
  });

  it('filters by action, outcome and actor, pages with a cursor, and is closed to members', async () => {
    const r = await registerUser(t.app);
    for (let i = 0; i < 3; i++) await loginUser(t.app, r.email, r.password);
    const h = bearer(r.access);
    const logins = (
      await t.app.inject({ url: '/api/audit-logs?action=auth.login&limit=2', headers: h })
    ).json();
    expect(logins.items).toHaveLength(2);
    expect(logins.next_cursor).toBeTruthy();
    const rest = (
      await t.app.inject({
        url: `/api/audit-logs?action=auth.login&limit=2&cursor=${logins.next_cursor}`,
        headers: h,
      })
    ).json();
    expect(rest.items).toHaveLength(1);
    const prefix = (
      await t.app.inject({ url: `/api/audit-logs?action=auth.*&actor=${r.userId}`, headers: h })
    ).json();
    expect(prefix.items.every((i: { action: string }) => i.action.startsWith('auth.'))).toBe(true);
    const none = (
      await t.app.inject({ url: '/api/audit-logs?outcome=failure', headers: h })
    ).json();
    expect(none.items).toHaveLength(0);
    // Swapped bounds are named, not answered with an empty trail.
    const swapped = await t.app.inject({
      url: '/api/audit-logs?from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z',
      headers: h,
    });
    expect(swapped.statusCode).toBe(400);
    expect(swapped.json().errors).toEqual([{ field: 'from', message: 'must be before to' }]);
    // Another org's admin sees nothing of this org.
    const other = await registerUser(t.app);
    const theirs = (
      await t.app.inject({ url: '/api/audit-logs?limit=100', headers: bearer(other.access) })
    ).json();
    expect(theirs.items.every((i: { org_id: string }) => i.org_id === other.orgId)).toBe(true);
    // A member may not read it.
    await withSystem(t.database, (tx) =>
      tx
        .updateTable('memberships')
        .set({ role: 'member' })
        .where('user_id', '=', other.userId)
        .execute(),
    );
    const asMember = (await loginUser(t.app, other.email, GOOD_PASSWORD)).json();
    const denied = await t.app.inject({
      url: '/api/audit-logs',
      headers: bearer(asMember.access_token),
    });
    expect(denied.statusCode).toBe(403);
  });
});
