// The per-IP sign-up limits: `RATE_LIMIT_REGISTER_IP` counts accounts created, and only those;
// refused attempts (a weak password, a taken address) have their own, looser limit
// (`RATE_LIMIT_REGISTER_REFUSED_IP`). A newcomer who tries a few passwords against the rules is
// not locked out; a script still is, whether it creates accounts or cycles through refusals, and
// however many requests it sends at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../test/app.ts';
import { GOOD_PASSWORD } from '../test/auth-helpers.ts';
import { uniqueEmail } from '../test/factories.ts';

const CREATED = 3;
const REFUSED = 6;
let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp({
    env: {
      RATE_LIMIT_REGISTER_IP: `${CREATED}/3600`,
      RATE_LIMIT_REGISTER_REFUSED_IP: `${REFUSED}/3600`,
    },
  });
});
afterAll(async () => {
  await t?.close();
});

let nextIp = 1;
/** A fresh client address per test, so each starts with empty counters. */
const freshIp = () => `198.51.100.${nextIp++}`;

function signUp(ip: string, body: { email?: string; password?: string } = {}) {
  return t.app.inject({
    method: 'POST',
    url: '/api/auth/register',
    remoteAddress: ip,
    payload: {
      email: body.email ?? uniqueEmail('limit'),
      password: body.password ?? GOOD_PASSWORD,
    },
  });
}

describe('sign-up limits per IP', () => {
  it('five refused passwords, then a good one: the account is created', async () => {
    const ip = freshIp();
    const email = uniqueEmail('newcomer');
    for (const password of ['password', 'short', 'Password1!', 'hunter2hunter2', 'letmein']) {
      const res = await signUp(ip, { email, password });
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().code).toBe('weak_password');
    }
    const res = await signUp(ip, { email });
    expect(res.statusCode, res.body).toBe(201);
  });

  it('an address already taken is a refusal too, not an account', async () => {
    const ip = freshIp();
    const email = uniqueEmail('taken');
    expect((await signUp(ip, { email })).statusCode).toBe(201);
    for (let i = 0; i < 3; i++) expect((await signUp(ip, { email })).statusCode).toBe(409);
    // Two of the three accounts this IP may create are left.
    expect((await signUp(ip)).statusCode).toBe(201);
    expect((await signUp(ip)).statusCode).toBe(201);
    expect((await signUp(ip)).statusCode).toBe(429);
  });

  it(`refuses the sign-up after ${CREATED} accounts created, with Retry-After`, async () => {
    const ip = freshIp();
    for (let i = 0; i < CREATED; i++) expect((await signUp(ip)).statusCode).toBe(201);
    const res = await signUp(ip);
    expect(res.statusCode).toBe(429);
    expect(res.json().code).toBe('rate_limited');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(3000);
    // Another address is not affected.
    expect((await signUp(freshIp())).statusCode).toBe(201);
  });

  it(`refuses every sign-up after ${REFUSED} refused ones, even a good one`, async () => {
    const ip = freshIp();
    for (let i = 0; i < REFUSED; i++) {
      expect((await signUp(ip, { password: 'password' })).statusCode).toBe(400);
    }
    const res = await signUp(ip);
    expect(res.statusCode).toBe(429);
    expect(res.json().code).toBe('rate_limited');
  });

  it('parallel sign-ups from one IP create at most the limit of accounts', async () => {
    const ip = freshIp();
    const answers = await Promise.all(Array.from({ length: 10 }, () => signUp(ip)));
    const statuses = answers.map((r) => r.statusCode).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(CREATED);
    expect(statuses.filter((s) => s === 429)).toHaveLength(10 - CREATED);
  });
});
