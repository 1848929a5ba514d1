// Hostile cases of the wrong-guess limits: a burst of parallel guesses must not outrun the
// counter. Each attempt reserves its point before the secret is checked, so of N concurrent
// wrong guesses exactly `points` are evaluated (answered 401/400) and the rest are refused (429),
// whatever the store (memory, or Redis shared by instances). Also: IPv6 clients are counted per
// /64, so one host cannot rotate through its addresses to reset its per-IP budget.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueUserToken } from '../auth/user-tokens.ts';
import { withSystem } from '../db/tenant.ts';
import { openRedis } from '../infra/redis.ts';
import { buildTestApp, type TestApp } from '../test/app.ts';
import { bearer, loginUser, registerUser } from '../test/auth-helpers.ts';
import { uniqueEmail } from '../test/factories.ts';
import {
  capturingMailer,
  enrolMfa,
  mfaVerify,
  passwordStep,
  totpNow,
} from '../test/mfa-helpers.ts';
import { keysUnder } from '../test/redis.ts';

const PARALLEL = 120;
const REDIS_URL = process.env.REDIS_URL;
const stores = REDIS_URL ? (['memory', 'redis'] as const) : (['memory'] as const);

function wrongCodeFor(secret: string): string {
  const near = [-1, 0, 1, 2].map((o) => totpNow(secret, o));
  for (let n = 0; ; n++) {
    const c = String(n).padStart(6, '0');
    if (!near.includes(c)) return c;
  }
}

/** Status codes of the answers, counted: { 401: 5, 429: 115 }. */
async function tally(requests: Promise<{ statusCode: number }>[]): Promise<Record<number, number>> {
  const out: Record<number, number> = {};
  for (const res of await Promise.all(requests)) {
    out[res.statusCode] = (out[res.statusCode] ?? 0) + 1;
  }
  return out;
}

describe.each(stores)('concurrent wrong guesses (%s store)', (store) => {
  let t: TestApp;
  let redis: Redis | undefined;
  let pairPoints: number;
  let mfaPoints: number;

  beforeAll(async () => {
    if (store === 'redis') {
      redis = openRedis(REDIS_URL!);
      // Without a ready connection the limiter would silently run on its memory insurance.
      await new Promise((resolve) => redis!.once('ready', resolve));
    }
    t = await buildTestApp({ deps: { mailer: capturingMailer(), ...(redis ? { redis } : {}) } });
    pairPoints = t.config.rateLimits.login_account_ip.points;
    mfaPoints = t.config.rateLimits.mfa_verify.points;
  });
  afterAll(async () => {
    await t?.close();
    // Closing the test app deleted every counter these tests made on the shared Redis.
    if (redis && t) expect(await keysUnder(redis, t.config.redisKeyPrefix)).toEqual([]);
    await redis?.quit();
  });

  const post = (url: string, access: string, payload: Record<string, unknown>) =>
    t.app.inject({ method: 'POST', url, headers: bearer(access), payload });

  it('login: one account and IP, parallel wrong passwords: only the allowance is evaluated', async () => {
    const u = await registerUser(t.app);
    const counts = await tally(
      Array.from({ length: PARALLEL }, () => loginUser(t.app, u.email, 'wrong password guess')),
    );
    expect(counts).toEqual({ 401: pairPoints, 429: PARALLEL - pairPoints });
  });

  it('login: unknown email is limited the same way', async () => {
    const ghost = uniqueEmail('ghost');
    const counts = await tally(
      Array.from({ length: PARALLEL }, () => loginUser(t.app, ghost, 'wrong password guess')),
    );
    expect(counts).toEqual({ 401: pairPoints, 429: PARALLEL - pairPoints });
  });

  it('MFA verify: one mfa_token, parallel wrong codes: only the allowance is evaluated', async () => {
    const u = await registerUser(t.app);
    const { secret } = await enrolMfa(t.app, u);
    const token = await passwordStep(t.app, u.email, u.password);
    const wrong = wrongCodeFor(secret);
    const counts = await tally(
      Array.from({ length: PARALLEL }, () => mfaVerify(t.app, { mfa_token: token, code: wrong })),
    );
    expect(counts).toEqual({ 401: mfaPoints, 429: PARALLEL - mfaPoints });
    // The block holds for a right code too.
    const right = await mfaVerify(t.app, { mfa_token: token, code: totpNow(secret, 1) });
    expect(right.statusCode).toBe(429);
  });

  it('MFA enable: parallel wrong codes against the pending secret', async () => {
    const u = await registerUser(t.app);
    const setup = await post('/api/auth/mfa/setup', u.access, {});
    expect(setup.statusCode).toBe(200);
    const wrong = wrongCodeFor(setup.json().secret);
    const counts = await tally(
      Array.from({ length: PARALLEL }, () =>
        post('/api/auth/mfa/enable', u.access, { code: wrong }),
      ),
    );
    expect(counts).toEqual({ 400: mfaPoints, 429: PARALLEL - mfaPoints });
  });

  it('MFA disable: right password, parallel wrong codes', async () => {
    const u = await registerUser(t.app);
    const { secret } = await enrolMfa(t.app, u);
    const wrong = wrongCodeFor(secret);
    const counts = await tally(
      Array.from({ length: PARALLEL }, () =>
        post('/api/auth/mfa/disable', u.access, { password: u.password, code: wrong }),
      ),
    );
    expect(counts).toEqual({ 400: mfaPoints, 429: PARALLEL - mfaPoints });
  });

  it('MFA disable: parallel wrong passwords count as login guesses', async () => {
    const u = await registerUser(t.app);
    const { secret } = await enrolMfa(t.app, u);
    const counts = await tally(
      Array.from({ length: PARALLEL }, () =>
        post('/api/auth/mfa/disable', u.access, {
          password: 'wrong password guess',
          code: totpNow(secret),
        }),
      ),
    );
    expect(counts).toEqual({ 401: pairPoints, 429: PARALLEL - pairPoints });
  });

  it('backup-code regeneration: parallel wrong codes', async () => {
    const u = await registerUser(t.app);
    const { secret } = await enrolMfa(t.app, u);
    const wrong = wrongCodeFor(secret);
    const counts = await tally(
      Array.from({ length: PARALLEL }, () =>
        post('/api/auth/mfa/backup-codes', u.access, { code: wrong }),
      ),
    );
    expect(counts).toEqual({ 400: mfaPoints, 429: PARALLEL - mfaPoints });
  });

  it('password change: parallel wrong current passwords', async () => {
    const u = await registerUser(t.app);
    const counts = await tally(
      Array.from({ length: PARALLEL }, () =>
        post('/api/auth/password/change', u.access, {
          current_password: 'wrong password guess',
          new_password: 'another good passphrase 77',
        }),
      ),
    );
    expect(counts).toEqual({ 401: pairPoints, 429: PARALLEL - pairPoints });
  });

  it('email verify: one link, parallel wrong sign-up passwords count as login guesses', async () => {
    const u = await registerUser(t.app);
    const { token } = await withSystem(t.database, (tx) =>
      issueUserToken(tx, { userId: u.userId, purpose: 'verify_email', ttlMs: 3600_000 }),
    );
    const counts = await tally(
      Array.from({ length: PARALLEL }, () =>
        t.app.inject({
          method: 'POST',
          url: '/api/auth/email/verify',
          payload: { token, password: 'wrong password guess' },
        }),
      ),
    );
    expect(counts).toEqual({ 401: pairPoints, 429: PARALLEL - pairPoints });
    // One budget with the login form.
    expect((await loginUser(t.app, u.email, u.password)).statusCode).toBe(429);
  });

  it('right answers give their point back: the owner is never locked out by succeeding', async () => {
    const u = await registerUser(t.app);
    // Far more successful logins than any allowance (in flight at once they would share it: a
    // reservation holds its point until the answer is known).
    const logins = 2 * t.config.rateLimits.login_account.points;
    for (let i = 0; i < logins; i++) {
      expect((await loginUser(t.app, u.email, u.password)).statusCode).toBe(200);
    }
    // A wrong one after them still counts from a clean slate.
    for (let i = 0; i < pairPoints; i++) {
      expect((await loginUser(t.app, u.email, 'wrong password guess')).statusCode).toBe(401);
    }
    expect((await loginUser(t.app, u.email, u.password)).statusCode).toBe(429);
  });

  it('right MFA codes give their point back', async () => {
    const u = await registerUser(t.app);
    const { backupCodes } = await enrolMfa(t.app, u);
    expect(backupCodes.length).toBeGreaterThan(mfaPoints);
    for (const code of backupCodes.slice(0, mfaPoints + 1)) {
      const token = await passwordStep(t.app, u.email, u.password);
      expect((await mfaVerify(t.app, { mfa_token: token, backup_code: code })).statusCode).toBe(
        200,
      );
    }
  });
});

describe('per-IP limits key IPv6 clients by their /64', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp({
      env: {
        TRUST_PROXY: '127.0.0.1',
        RATE_LIMIT_LOGIN_IP: '3/900',
      },
    });
  });
  afterAll(() => t?.close());

  const failFrom = (ip: string) =>
    loginUser(t.app, uniqueEmail('spray'), 'wrong password guess', { 'x-forwarded-for': ip });

  it('addresses of one /64 share the login_ip budget; another /64 has its own', async () => {
    // Three different accounts (spraying), three different addresses of one /64, written in
    // different forms.
    expect((await failFrom('2001:db8:aa:1::1')).statusCode).toBe(401);
    expect((await failFrom('2001:DB8:AA:1:0:0:0:2')).statusCode).toBe(401);
    expect((await failFrom('2001:0db8:00aa:0001:ffff:ffff:ffff:ffff')).statusCode).toBe(401);
    const rotated = await failFrom('2001:db8:aa:1:1234:5678:9abc:def0');
    expect(rotated.statusCode).toBe(429);
    expect(rotated.json().code).toBe('rate_limited');
    // The neighbouring /64 is another client.
    expect((await failFrom('2001:db8:aa:2::1')).statusCode).toBe(401);
  });

  it('an IPv4-mapped IPv6 address is its IPv4 address', async () => {
    for (let i = 0; i < 3; i++) {
      expect((await failFrom('::ffff:198.51.100.23')).statusCode).toBe(401);
    }
    expect((await failFrom('198.51.100.23')).statusCode).toBe(429);
    expect((await failFrom('::ffff:c633:6417')).statusCode).toBe(429);
    expect((await failFrom('198.51.100.24')).statusCode).toBe(401);
  });
});
