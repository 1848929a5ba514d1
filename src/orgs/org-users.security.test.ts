// Admin-created users under attack. Anyone can found an org and so become an owner, which makes
// POST /api/orgs/current/users a public door: it must not tell whether an address has an account
// anywhere (an oracle past the sign-up limit), must be rate limited per org and per actor, and
// must not hand its caller a login to an account for someone else's mailbox.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withSystem } from '../db/tenant.ts';
import { buildTestApp, type TestApp } from '../test/app.ts';
import { GOOD_PASSWORD, loginUser } from '../test/auth-helpers.ts';
import { uniqueEmail } from '../test/factories.ts';
import { type CapturingMailer, capturingMailer } from '../test/mfa-helpers.ts';
import { auditOf, type Person, team } from '../test/org-helpers.ts';
import { linkFrom } from '../test/smtp.ts';

let t: TestApp;
let mail: CapturingMailer;
beforeAll(async () => {
  mail = capturingMailer();
  // Public sign-up off: the admin route stays open (it is how admins let people in), and
  // everything below holds regardless.
  t = await buildTestApp({ deps: { mailer: mail }, env: { SIGNUP_ENABLED: 'false' } });
});
afterAll(() => t.close());

const createUser = (app: TestApp['app'], by: Person, payload: object) =>
  app.inject({ method: 'POST', url: '/api/orgs/current/users', headers: by.headers, payload });

/** Status and body without per-request values, for comparing two answers. */
function shape(res: Awaited<ReturnType<typeof createUser>>) {
  const body = res.json();
  return { status: res.statusCode, keys: Object.keys(body).sort(), role: body.role };
}

describe('no account oracle', () => {
  it('an address with an account elsewhere gets the same answer as a new one, and only an invitation', async () => {
    const a = await team(t);
    const b = await team(t, 'Other Co');
    const fresh = uniqueEmail('fresh');
    const newAnswer = await createUser(t.app, a.owner, { email: fresh, role: 'member' });
    const takenAnswer = await createUser(t.app, a.owner, {
      email: b.member.email.toUpperCase(),
      role: 'member',
    });
    expect(newAnswer.statusCode).toBe(202);
    expect(shape(takenAnswer)).toEqual(shape(newAnswer));
    expect(newAnswer.json()).toEqual({ email: fresh, role: 'member' });
    expect(takenAnswer.json()).toEqual({ email: b.member.email, role: 'member' });
    expect(takenAnswer.body).not.toContain(b.member.user.id);

    // The existing account was not added to the org: its owner was invited instead.
    const joined = await withSystem(t.database, (tx) =>
      tx
        .selectFrom('memberships')
        .select('user_id')
        .where('org_id', '=', a.org.id)
        .where('user_id', '=', b.member.user.id)
        .executeTakeFirst(),
    );
    expect(joined).toBeUndefined();
    expect(
      mail.sent.some((m) => m.to === b.member.email && m.text.includes('/accept-invite')),
    ).toBe(true);
    expect(mail.sent.some((m) => m.to === fresh && m.text.includes('/reset-password'))).toBe(true);
  });
});

describe('a created account belongs to its mailbox owner', () => {
  it('an admin-chosen password is refused: nobody but the mailbox owner can log in', async () => {
    const a = await team(t);
    const email = uniqueEmail('pre');
    const withPassword = await createUser(t.app, a.owner, {
      email,
      role: 'member',
      password: GOOD_PASSWORD,
    });
    expect(withPassword.statusCode).toBe(400);
    expect(withPassword.json().code).toBe('validation_failed');

    const res = await createUser(t.app, a.owner, { email, role: 'member' });
    expect(res.statusCode).toBe(202);
    expect((await loginUser(t.app, email, GOOD_PASSWORD)).statusCode).toBe(401);

    const m = mail.sent.filter((x) => x.to === email && x.text.includes('/reset-password')).at(-1)!;
    const token = new URL(linkFrom(m, '/reset-password?token=')).searchParams.get('token')!;
    const set = await t.app.inject({
      method: 'POST',
      url: '/api/auth/password/reset',
      payload: { token, new_password: 'the mailbox owner chose this one 5' },
    });
    expect(set.statusCode).toBe(204);
    const login = await loginUser(t.app, email, 'the mailbox owner chose this one 5');
    expect(login.statusCode).toBe(200);
    expect(login.json().user).toMatchObject({ email, email_verified: true });
  });
});

describe('rate limits', () => {
  let limited: TestApp;
  beforeAll(async () => {
    limited = await buildTestApp({
      deps: { mailer: capturingMailer() },
      env: { RATE_LIMIT_USER_CREATE_ACTOR: '2/3600', RATE_LIMIT_USER_CREATE_ORG: '3/3600' },
    });
  });
  afterAll(() => limited.close());

  it('per actor, then per org: 429 with Retry-After; another org is unaffected', async () => {
    const a = await team(limited);
    const b = await team(limited, 'Other Co');
    const ok = async (by: Person) =>
      expect(
        (await createUser(limited.app, by, { email: uniqueEmail(), role: 'member' })).statusCode,
      ).toBe(202);
    await ok(a.owner);
    await ok(a.owner);
    const actorLimited = await createUser(limited.app, a.owner, {
      email: uniqueEmail(),
      role: 'member',
    });
    expect(actorLimited.statusCode).toBe(429);
    expect(actorLimited.json().code).toBe('rate_limited');
    expect(actorLimited.headers['retry-after']).toBeDefined();
    // An existing address spends the same budget (else the refusal would be an oracle too).
    await ok(a.admin);
    const orgLimited = await createUser(limited.app, a.admin, {
      email: b.member.email,
      role: 'member',
    });
    expect(orgLimited.statusCode).toBe(429);
    await ok(b.owner);
    const trail = await auditOf(limited.database, a.org.id);
    expect(trail.filter((e) => e.action === 'user.create')).toHaveLength(3);
  });
});
