// Hostile cases of MFA: replayed codes, the ±1 step window, expired, reused, transplanted and
// misused mfa_tokens, brute force, concurrent spending, secrets at rest and key rotation, and
// the org policy's enrolment-only tokens.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login as signIn } from '../auth/login.ts';
import { withSystem } from '../db/tenant.ts';
import { buildTestApp, TEST_ENCRYPTION_KEYS, type TestApp } from '../test/app.ts';
import {
  bearer,
  changePassword,
  cookieHeader,
  cookiesFrom,
  logOut,
  registerUser,
} from '../test/auth-helpers.ts';
import {
  awayFromStepEdge,
  capturingMailer,
  claimsOf,
  enrolMfa,
  mfaVerify,
  passwordStep,
  registerUnderMfaPolicy,
  STEP_MS,
  setOrgSettings,
  totpNow,
} from '../test/mfa-helpers.ts';
import { mfaSecondFactor } from './login-challenge.ts';
import { totpCodeAt } from './totp.ts';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp({ deps: { mailer: capturingMailer() } });
});
afterAll(() => t.close());

function wrongCodeFor(secret: string): string {
  const near = [-1, 0, 1, 2].map((o) => totpNow(secret, o));
  for (let n = 0; ; n++) {
    const c = String(n).padStart(6, '0');
    if (!near.includes(c)) return c;
  }
}

const setTotpLastStep = (userId: string, step: number | null) =>
  withSystem(t.database, (tx) =>
    tx.updateTable('users').set({ totp_last_step: step }).where('id', '=', userId).execute(),
  );

describe('TOTP codes', () => {
  it('a code works once: a second login in the same window with it is 401, saying it was used', async () => {
    const u = await registerUser(t.app);
    const { secret } = await enrolMfa(t.app, u);
    const code = totpNow(secret, 1);
    const first = await mfaVerify(t.app, {
      mfa_token: await passwordStep(t.app, u.email, u.password),
      code,
    });
    expect(first.statusCode).toBe(200);
    const replay = await mfaVerify(t.app, {
      mfa_token: await passwordStep(t.app, u.email, u.password),
      code,
    });
    expect(replay.statusCode).toBe(401);
    // Not "check the time on your device": the code was right, and already spent.
    expect(replay.json().code).toBe('mfa_code_reused');
    expect(replay.json().title).toMatch(/already used.*wait.*next/i);
    expect(replay.json()).not.toHaveProperty('access_token');
    // A code that was never right still reads as wrong.
    const wrong = await mfaVerify(t.app, {
      mfa_token: await passwordStep(t.app, u.email, u.password),
      code: wrongCodeFor(secret),
    });
    expect(wrong.json().code).toBe('invalid_mfa');
  });

  it('accepts the previous and the next step (clock drift), not two steps away', async () => {
    const u = await registerUser(t.app);
    const { secret } = await enrolMfa(t.app, u);
    for (const offset of [-1, 1]) {
      await setTotpLastStep(u.userId, null); // each case starts with no step spent
      await awayFromStepEdge();
      const res = await mfaVerify(t.app, {
        mfa_token: await passwordStep(t.app, u.email, u.password),
        code: totpCodeAt(secret, Date.now() + offset * STEP_MS),
      });
      expect(res.statusCode, `offset ${offset}`).toBe(200);
    }
    for (const offset of [-2, 2]) {
      await setTotpLastStep(u.userId, null);
      await awayFromStepEdge();
      const res = await mfaVerify(t.app, {
        mfa_token: await passwordStep(t.app, u.email, u.password),
        code: totpCodeAt(secret, Date.now() + offset * STEP_MS),
      });
      expect(res.statusCode, `offset ${offset}`).toBe(401);
    }
  });

  it('a code older than one already used is refused too (steps only move forward)', async () => {
    const u = await registerUser(t.app);
    const { secret } = await enrolMfa(t.app, u);
    await setTotpLastStep(u.userId, null);
    await awayFromStepEdge();
    const newer = await mfaVerify(t.app, {
      mfa_token: await passwordStep(t.app, u.email, u.password),
      code: totpNow(secret, 1),
    });
    expect(newer.statusCode).toBe(200);
    const older = await mfaVerify(t.app, {
      mfa_token: await passwordStep(t.app, u.email, u.password),
      code: totpNow(secret, 0),
    });
    expect(older.statusCode).toBe(401);
    expect(older.json().code).toBe('mfa_code_reused');
  });

  it('two concurrent logins with one code: exactly one succeeds', async () => {
    const u = await registerUser(t.app);
    const { secret } = await enrolMfa(t.app, u);
    const tokens = await Promise.all(
      [0, 1, 2, 3].map(() => passwordStep(t.app, u.email, u.password)),
    );
    const code = totpNow(secret, 1);
    const results = await Promise.all(
      tokens.map((mfa_token) => mfaVerify(t.app, { mfa_token, code })),
    );
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 401, 401, 401]);
    // The losers lost the race for a right code: it reads as used, not as wrong.
    const losers = results.filter((r) => r.statusCode === 401).map((r) => r.json().code);
    expect(losers).toEqual(['mfa_code_reused', 'mfa_code_reused', 'mfa_code_reused']);
  });

  it('two concurrent logins with one backup code: exactly one succeeds', async () => {
    const u = await registerUser(t.app);
    const { backupCodes } = await enrolMfa(t.app, u);
    const tokens = await Promise.all([0, 1, 2].map(() => passwordStep(t.app, u.email, u.password)));
    const results = await Promise.all(
      tokens.map((mfa_token) => mfaVerify(t.app, { mfa_token, backup_code: backupCodes[0] })),
    );
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 401, 401]);
  });
});

describe('the mfa_token', () => {
  it('is stored only hashed, expires 5 minutes after the password step', async () => {
    const u = await registerUser(t.app);
    await enrolMfa(t.app, u);
    const before = Date.now();
    const token = await passwordStep(t.app, u.email, u.password);
    const rows = await withSystem(t.database, (tx) =>
      tx
        .selectFrom('user_tokens')
        .selectAll()
        .where('user_id', '=', u.userId)
        .where('purpose', '=', 'mfa_login')
        .execute(),
    );
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(token);
    const ttl = rows[0]!.expires_at.getTime() - before;
    expect(ttl).toBeGreaterThan(4.9 * 60_000);
    expect(ttl).toBeLessThanOrEqual(5 * 60_000 + 2000);
    expect(rows[0]!.metadata).toMatchObject({ org_id: u.orgId, role: 'owner' });
  });

  it('an expired token is 401 invalid_mfa_token even with a right code', async () => {
    const u = await registerUser(t.app);
    const { secret } = await enrolMfa(t.app, u);
    const token = await passwordStep(t.app, u.email, u.password);
    await withSystem(t.database, (tx) =>
      tx
        .updateTable('user_tokens')
        .set({ expires_at: new Date(Date.now() - 1000) })
        .where('user_id', '=', u.userId)
        .where('purpose', '=', 'mfa_login')
        .execute(),
    );
    const res = await mfaVerify(t.app, { mfa_token: token, code: totpNow(secret, 1) });
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('invalid_mfa_token');
  });

  it('works once: reused after a successful login it is 401', async () => {
    const u = await registerUser(t.app);
    const { backupCodes } = await enrolMfa(t.app, u);
    const token = await passwordStep(t.app, u.email, u.password);
    expect(
      (await mfaVerify(t.app, { mfa_token: token, backup_code: backupCodes[0] })).statusCode,
    ).toBe(200);
    const reused = await mfaVerify(t.app, { mfa_token: token, backup_code: backupCodes[1] });
    expect(reused.statusCode).toBe(401);
    expect(reused.json().code).toBe('invalid_mfa_token');
  });

  it('dies with a password change: a login begun with the old password cannot finish', async () => {
    const u = await registerUser(t.app);
    const { backupCodes } = await enrolMfa(t.app, u);
    const token = await passwordStep(t.app, u.email, u.password);
    const changed = await changePassword(
      t.app,
      bearer(u.access),
      u.password,
      'an entirely new passphrase 2026',
    );
    expect(changed.statusCode).toBe(204);
    const res = await mfaVerify(t.app, { mfa_token: token, backup_code: backupCodes[0] });
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('invalid_mfa_token');
  });

  it('is bound to the client it was given to (user agent and IP)', async () => {
    const u = await registerUser(t.app);
    const { backupCodes } = await enrolMfa(t.app, u);
    const token = await passwordStep(t.app, u.email, u.password, { 'user-agent': 'Browser A' });
    const elsewhere = await mfaVerify(
      t.app,
      { mfa_token: token, backup_code: backupCodes[0] },
      { 'user-agent': 'Browser B' },
    );
    expect(elsewhere.statusCode).toBe(401);
    expect(elsewhere.json().code).toBe('invalid_mfa_token');
    const here = await mfaVerify(
      t.app,
      { mfa_token: token, backup_code: backupCodes[0] },
      { 'user-agent': 'Browser A' },
    );
    expect(here.statusCode).toBe(200);
  });

  it('opens nothing else: as a bearer token, a cookie or a refresh token it is 401', async () => {
    const u = await registerUser(t.app);
    await enrolMfa(t.app, u);
    const token = await passwordStep(t.app, u.email, u.password);
    for (const url of [
      '/auth/me',
      '/api/users/me',
      '/api/auth/sessions',
      '/api/prompts',
      '/api/auth/verify',
    ]) {
      const asBearer = await t.app.inject({ url, headers: bearer(token) });
      expect(asBearer.statusCode, url).toBe(401);
      const asCookie = await t.app.inject({ url, headers: { cookie: `sb_access=${token}` } });
      expect(asCookie.statusCode, url).toBe(401);
    }
    for (const url of ['/api/auth/mfa/setup', '/api/auth/mfa/enable', '/api/auth/logout']) {
      const res = await t.app.inject({
        method: 'POST',
        url,
        headers: bearer(token),
        payload: url.endsWith('enable') ? { code: '123456' } : undefined,
      });
      expect(res.statusCode, url).toBe(401);
    }
    const asRefresh = await t.app.inject({
      method: 'POST',
      url: '/api/auth/refresh',
      payload: { refresh_token: token },
    });
    expect(asRefresh.statusCode).toBe(401);
  });

  it('garbage, or another purpose of token, is 401 invalid_mfa_token, never a 500', async () => {
    for (const mfa_token of ['x', 'a'.repeat(512), '../../etc/passwd', 'é'.repeat(40)]) {
      const res = await mfaVerify(t.app, { mfa_token, code: '123456' });
      expect(res.statusCode).toBe(401);
      expect(res.json().code).toBe('invalid_mfa_token');
    }
  });
});

describe('API keys', () => {
  it('cannot reach MFA or the verification resend: they act on resources, not on their creator', async () => {
    const u = await registerUser(t.app);
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/api-keys',
      headers: bearer(u.access),
      payload: { name: 'worker', scopes: ['org:read'] },
    });
    expect(created.statusCode).toBe(201);
    const key = bearer(created.json().key);
    for (const [method, url, payload] of [
      ['GET', '/api/auth/mfa', undefined],
      ['POST', '/api/auth/mfa/setup', undefined],
      ['POST', '/api/auth/mfa/enable', { code: '123456' }],
      ['POST', '/api/auth/mfa/backup-codes', { code: '123456' }],
      ['POST', '/api/auth/mfa/disable', { password: u.password, code: '123456' }],
      ['POST', '/api/auth/email/resend', undefined],
    ] as const) {
      const res = await t.app.inject({ method, url, headers: key, payload });
      expect(res.statusCode, url).toBe(403);
      expect(res.json().code, url).toBe('forbidden');
    }
    const row = await withSystem(t.database, (tx) =>
      tx.selectFrom('users').selectAll().where('id', '=', u.userId).executeTakeFirstOrThrow(),
    );
    expect(row.totp_pending_secret_enc).toBeNull();
  });
});

describe('brute force', () => {
  it('wrong codes count per user: after the limit, 429 with Retry-After, even for a right code', async () => {
    const u = await registerUser(t.app);
    const { secret } = await enrolMfa(t.app, u);
    const token = await passwordStep(t.app, u.email, u.password);
    const wrong = wrongCodeFor(secret);
    const limit = t.config.rateLimits.mfa_verify.points;
    for (let i = 0; i < limit; i++) {
      const res = await mfaVerify(t.app, { mfa_token: token, code: wrong });
      expect(res.statusCode).toBe(401);
    }
    const blocked = await mfaVerify(t.app, { mfa_token: token, code: totpNow(secret, 1) });
    expect(blocked.statusCode).toBe(429);
    expect(blocked.json().code).toBe('rate_limited');
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    // A fresh challenge does not reset the user's counter; wrong backup codes count too.
    const fresh = await passwordStep(t.app, u.email, u.password);
    const still = await mfaVerify(t.app, { mfa_token: fresh, backup_code: 'aaaaa-aaaaa' });
    expect(still.statusCode).toBe(429);
  });

  it('a reused code counts exactly like a wrong one: the same limit, then 429', async () => {
    const u = await registerUser(t.app);
    const { secret } = await enrolMfa(t.app, u);
    await setTotpLastStep(u.userId, null);
    await awayFromStepEdge();
    const used = totpNow(secret, 0);
    const first = await mfaVerify(t.app, {
      mfa_token: await passwordStep(t.app, u.email, u.password),
      code: used,
    });
    expect(first.statusCode).toBe(200);
    const token = await passwordStep(t.app, u.email, u.password);
    const limit = t.config.rateLimits.mfa_verify.points;
    for (let i = 0; i < limit; i++) {
      const res = await mfaVerify(t.app, { mfa_token: token, code: used });
      expect(res.json().code).toBe('mfa_code_reused');
    }
    const blocked = await mfaVerify(t.app, { mfa_token: token, code: totpNow(secret, 1) });
    expect(blocked.statusCode).toBe(429);
  });

  it('signed in, a reused code at regenerate and disable is 400 code_reused (and counted)', async () => {
    const u = await registerUser(t.app);
    const { secret } = await enrolMfa(t.app, u);
    await setTotpLastStep(u.userId, null);
    await awayFromStepEdge();
    const code = totpNow(secret, 0);
    const regenerate = () =>
      t.app.inject({
        method: 'POST',
        url: '/api/auth/mfa/backup-codes',
        headers: bearer(u.access),
        payload: { code },
      });
    expect((await regenerate()).statusCode).toBe(200);
    const again = await regenerate();
    expect(again.statusCode).toBe(400);
    expect(again.json().code).toBe('code_reused');
    const disable = await t.app.inject({
      method: 'POST',
      url: '/api/auth/mfa/disable',
      headers: bearer(u.access),
      payload: { password: u.password, code },
    });
    expect(disable.json().code).toBe('code_reused');
    const audit = await withSystem(t.database, (tx) =>
      tx
        .selectFrom('audit_logs')
        .select(['action', 'metadata'])
        .where('actor_user_id', '=', u.userId)
        .where('outcome', '=', 'failure')
        .execute(),
    );
    expect(audit.map((a) => [a.action, a.metadata])).toEqual(
      expect.arrayContaining([
        ['mfa.backup_codes_regenerate', { reason: 'invalid_code', reused: true }],
        ['mfa.disable', { reason: 'invalid_code', reused: true }],
      ]),
    );
  });

  it('wrong codes at enable, regenerate and disable count toward the same limit', async () => {
    const u = await registerUser(t.app);
    const { secret } = await enrolMfa(t.app, u);
    const wrong = wrongCodeFor(secret);
    const limit = t.config.rateLimits.mfa_verify.points;
    for (let i = 0; i < limit; i++) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/auth/mfa/backup-codes',
        headers: bearer(u.access),
        payload: { code: wrong },
      });
      expect(res.statusCode).toBe(400);
    }
    const blocked = await t.app.inject({
      method: 'POST',
      url: '/api/auth/mfa/disable',
      headers: bearer(u.access),
      payload: { password: u.password, code: totpNow(secret, 1) },
    });
    expect(blocked.statusCode).toBe(429);
    expect(blocked.headers['retry-after']).toBeDefined();
  });
});

describe('secrets at rest', () => {
  it('the pending and the active secret are AES-GCM blobs under the key id, bound to the user', async () => {
    const u = await registerUser(t.app);
    const setup = await t.app.inject({
      method: 'POST',
      url: '/api/auth/mfa/setup',
      headers: bearer(u.access),
    });
    const { secret } = setup.json();
    const row = () =>
      withSystem(t.database, (tx) =>
        tx.selectFrom('users').selectAll().where('id', '=', u.userId).executeTakeFirstOrThrow(),
      );
    const pending = (await row()).totp_pending_secret_enc!;
    expect(pending).toMatch(/^v1\.t1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(pending).not.toContain(secret);
    await t.app.inject({
      method: 'POST',
      url: '/api/auth/mfa/enable',
      headers: bearer(u.access),
      payload: { code: totpNow(secret) },
    });
    const active = (await row()).totp_secret_enc!;
    expect(active).toMatch(/^v1\.t1\./);
    expect(active).not.toContain(secret);

    // The blob copied onto another user's row does not open there: that user cannot log in
    // with the victim's codes. A tampered row is a server fault: it fails closed (500, logged),
    // never with the secret in the answer.
    const other = await registerUser(t.app);
    await enrolMfa(t.app, other);
    await withSystem(t.database, (tx) =>
      tx
        .updateTable('users')
        .set({ totp_secret_enc: active, totp_last_step: null })
        .where('id', '=', other.userId)
        .execute(),
    );
    const res = await mfaVerify(t.app, {
      mfa_token: await passwordStep(t.app, other.email, other.password),
      code: totpNow(secret, 1),
    });
    expect(res.statusCode).toBe(500);
    expect(res.json()).not.toHaveProperty('access_token');
    expect(res.body).not.toContain(secret);
  });

  it('key rotation: with a new active key the old secret still works and is re-encrypted on use', async () => {
    const u = await registerUser(t.app);
    const { secret } = await enrolMfa(t.app, u);
    const t2key = `t2:${Buffer.alloc(32, 9).toString('base64')}`;
    const rotated = await buildTestApp({
      database: t.database,
      env: { ENCRYPTION_KEYS: `${TEST_ENCRYPTION_KEYS},${t2key}`, ENCRYPTION_ACTIVE_KEY_ID: 't2' },
      deps: { mailer: capturingMailer() },
    });
    try {
      const blob = async () =>
        (
          await withSystem(t.database, (tx) =>
            tx
              .selectFrom('users')
              .select('totp_secret_enc')
              .where('id', '=', u.userId)
              .executeTakeFirstOrThrow(),
          )
        ).totp_secret_enc!;
      expect(await blob()).toMatch(/^v1\.t1\./);
      const res = await mfaVerify(rotated.app, {
        mfa_token: await passwordStep(rotated.app, u.email, u.password),
        code: totpNow(secret, 1),
      });
      expect(res.statusCode).toBe(200);
      const resealed = await blob();
      expect(resealed).toMatch(/^v1\.t2\./);
      expect(resealed).not.toContain(secret);
      // Still the same secret: a backup-code regeneration proves a code under the new blob.
      await setTotpLastStep(u.userId, null);
      const regen = await rotated.app.inject({
        method: 'POST',
        url: '/api/auth/mfa/backup-codes',
        headers: bearer(res.json().access_token),
        payload: { code: totpNow(secret, 1) },
      });
      expect(regen.statusCode).toBe(200);
    } finally {
      await rotated.close();
    }
  });
});

describe('org policy: MFA required for a role', () => {
  const login = (email: string, password: string) =>
    t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { email, password } });

  it('a user of a required role without MFA gets enrolment-only tokens', async () => {
    const u = await registerUnderMfaPolicy(t, ['owner', 'admin']);
    const res = await login(u.email, u.password);
    expect(res.statusCode).toBe(200);
    const { access_token, refresh_token } = res.json();
    expect(claimsOf(access_token).mfa_pending).toBe(true);
    const h = bearer(access_token);

    const me = await t.app.inject({ url: '/auth/me', headers: h });
    expect(me.statusCode).toBe(200);
    expect(me.json().mfa_enrollment_required).toBe(true);
    expect((await t.app.inject({ url: '/api/users/me', headers: h })).statusCode).toBe(200);

    for (const [method, url] of [
      ['GET', '/api/prompts'],
      ['POST', '/api/prompts'],
      ['GET', '/api/auth/sessions'],
      ['GET', '/api/auth/mfa'],
      ['PATCH', '/api/users/me'],
      ['POST', '/api/auth/password/change'],
      ['GET', '/api/auth/verify'],
      ['GET', '/api/audit-logs'],
    ] as const) {
      const r = await t.app.inject({
        method,
        url,
        headers: h,
        payload: method === 'GET' ? undefined : {},
      });
      expect(r.statusCode, `${method} ${url}`).toBe(403);
      expect(r.json().code, `${method} ${url}`).toBe('mfa_enrollment_required');
    }
    // A new verification link, which anyone may ask for by address, is not refused for the
    // session sent along (the dashboard offers it to a pending person).
    const resend = await t.app.inject({
      method: 'POST',
      url: '/api/auth/email/resend',
      headers: h,
      payload: {},
    });
    expect(resend.statusCode, resend.body).toBe(202);
    // The same through the cookie.
    const cookie = cookieHeader(cookiesFrom(res));
    const viaCookie = await t.app.inject({ url: '/api/prompts', headers: { cookie } });
    expect(viaCookie.json().code).toBe('mfa_enrollment_required');

    // Pages, health and the JWKS are not the API: a pending cookie does not break them.
    expect((await t.app.inject({ url: '/health', headers: h })).statusCode).toBe(200);
    expect((await t.app.inject({ url: '/.well-known/jwks.json', headers: h })).statusCode).toBe(
      200,
    );
    // Signing in again with a stale pending credential riding along is not blocked.
    const again = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      headers: h,
      payload: { email: u.email, password: u.password },
    });
    expect(again.statusCode).toBe(200);

    // Enrolment is open; after it, the next refresh answers full tokens.
    const setup = await t.app.inject({ method: 'POST', url: '/api/auth/mfa/setup', headers: h });
    expect(setup.statusCode).toBe(200);
    const enable = await t.app.inject({
      method: 'POST',
      url: '/api/auth/mfa/enable',
      headers: h,
      payload: { code: totpNow(setup.json().secret) },
    });
    expect(enable.statusCode).toBe(200);
    const refreshed = await t.app.inject({
      method: 'POST',
      url: '/api/auth/refresh',
      payload: { refresh_token },
    });
    expect(refreshed.statusCode).toBe(200);
    const full = refreshed.json().access_token;
    expect(claimsOf(full).mfa_pending).toBeUndefined();
    expect(claimsOf(full).amr).toEqual(expect.arrayContaining(['pwd', 'mfa']));
    expect((await t.app.inject({ url: '/api/prompts', headers: bearer(full) })).statusCode).toBe(
      200,
    );
  });

  it('enabling MFA releases only the session that enabled it, not one opened with the password alone', async () => {
    const u = await registerUnderMfaPolicy(t, ['owner']);
    // Someone else holding the password signs in: an enrolment-only session.
    const other = (await login(u.email, u.password)).json();
    expect(claimsOf(other.access_token).mfa_pending).toBe(true);
    // The owner enables MFA in their own session.
    const own = (await login(u.email, u.password)).json();
    await enrolMfa(t.app, { access: own.access_token });
    const refresh = (refresh_token: string) =>
      t.app.inject({ method: 'POST', url: '/api/auth/refresh', payload: { refresh_token } });
    // The other session never proved a second factor: still pinned after its refresh.
    const stillPinned = await refresh(other.refresh_token);
    expect(stillPinned.statusCode).toBe(200);
    const pinned = stillPinned.json().access_token;
    expect(claimsOf(pinned).mfa_pending).toBe(true);
    const blocked = await t.app.inject({ url: '/api/prompts', headers: bearer(pinned) });
    expect(blocked.json().code).toBe('mfa_enrollment_required');
    // Switching org does not shed the pin either.
    const switched = await t.app.inject({
      method: 'POST',
      url: '/api/auth/switch-org',
      headers: bearer(pinned),
      payload: { org_id: u.orgId },
    });
    expect(switched.statusCode, switched.body).toBe(200);
    expect(claimsOf(switched.json().access_token).mfa_pending).toBe(true);
    // The enabling session is released.
    const released = await refresh(own.refresh_token);
    expect(claimsOf(released.json().access_token).mfa_pending).toBeUndefined();
  });

  describe('judged again when the session opens (what changed during the password hash)', () => {
    const meta = { ip: '203.0.113.7', userAgent: 'race', requestId: 'race' };
    /** A login whose second-factor step lets `meanwhile` commit before the session opens. */
    const racedLogin = (u: { email: string; password: string }, meanwhile: () => Promise<void>) =>
      signIn(t.app.auth, { email: u.email, password: u.password }, meta, {
        secondFactor: async (user, subject, m) => {
          const decision = await mfaSecondFactor(t.app.auth)(user, subject, m);
          await meanwhile();
          return decision;
        },
      });

    it('MFA turned on in another session: the password-only login opens nothing (409)', async () => {
      const u = await registerUser(t.app);
      const enableElsewhere = () =>
        withSystem(t.database, async (tx) => {
          await tx
            .updateTable('users')
            .set({ mfa_enabled_at: new Date() })
            .where('id', '=', u.userId)
            .execute();
        });
      await expect(racedLogin(u, enableElsewhere)).rejects.toMatchObject({ code: 'conflict' });
    });

    it('a role now required to have MFA pins the session, though the password step saw another', async () => {
      const u = await registerUser(t.app);
      await setOrgSettings(t.database, u.orgId, { mfa_required_roles: ['admin'] });
      const promoteRequirement = () =>
        setOrgSettings(t.database, u.orgId, { mfa_required_roles: ['owner', 'admin'] });
      const r = await racedLogin(u, promoteRequirement);
      expect(r.kind).toBe('tokens');
      if (r.kind !== 'tokens') return;
      expect(claimsOf(r.tokens.access_token).mfa_pending).toBe(true);
    });
  });

  it('logout works for a pending session', async () => {
    const u = await registerUnderMfaPolicy(t, ['owner']);
    const { access_token } = (await login(u.email, u.password)).json();
    const out = await logOut(t.app, bearer(access_token));
    expect(out.statusCode).toBe(204);
    expect(
      (await t.app.inject({ url: '/auth/me', headers: bearer(access_token) })).statusCode,
    ).toBe(401);
  });

  it('roles not in the list, and users who already have MFA, are not pinned', async () => {
    const notListed = await registerUnderMfaPolicy(t, ['admin']);
    const r = await login(notListed.email, notListed.password);
    expect(claimsOf(r.json().access_token).mfa_pending).toBeUndefined();

    const withMfa = await registerUser(t.app);
    const { secret } = await enrolMfa(t.app, withMfa);
    await setOrgSettings(t.database, withMfa.orgId, { mfa_required_roles: ['owner'] });
    const done = await mfaVerify(t.app, {
      mfa_token: await passwordStep(t.app, withMfa.email, withMfa.password),
      code: totpNow(secret, 1),
    });
    expect(done.statusCode).toBe(200);
    expect(claimsOf(done.json().access_token).mfa_pending).toBeUndefined();
  });

  it('a requirement added later pins the session at its next refresh', async () => {
    const u = await registerUser(t.app);
    const first = await login(u.email, u.password);
    expect(claimsOf(first.json().access_token).mfa_pending).toBeUndefined();
    await setOrgSettings(t.database, u.orgId, { mfa_required_roles: ['owner'] });
    const refreshed = await t.app.inject({
      method: 'POST',
      url: '/api/auth/refresh',
      payload: { refresh_token: first.json().refresh_token },
    });
    const access = refreshed.json().access_token;
    expect(claimsOf(access).mfa_pending).toBe(true);
    expect((await t.app.inject({ url: '/api/prompts', headers: bearer(access) })).json().code).toBe(
      'mfa_enrollment_required',
    );
  });

  it('malformed policy JSON is ignored, not a 500', async () => {
    for (const settings of [
      { mfa_required_roles: 'owner' },
      { mfa_required_roles: [1, null, 'root'] },
    ]) {
      const u = await registerUser(t.app);
      await setOrgSettings(t.database, u.orgId, settings);
      const r = await login(u.email, u.password);
      expect(r.statusCode).toBe(200);
      expect(claimsOf(r.json().access_token).mfa_pending).toBeUndefined();
    }
  });
});
