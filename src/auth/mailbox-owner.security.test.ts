// Pre-claimed accounts: someone registers (or an org owner creates) an account for an address
// they do not control, arms it with their own TOTP and API keys, and waits for the real mailbox
// owner to reset "her" password or accept an invitation into it. The mailbox owner must always
// win: the first proof of mailbox control (a mailed verification, reset, set-password or
// invitation link) ends every session, removes MFA and API keys made before it, and is audited.
import { describe, expect, it } from 'vitest';
import { hashToken } from '../crypto/tokens.ts';
import { withSystem } from '../db/tenant.ts';
import {
  bearer,
  forgotPassword,
  GOOD_PASSWORD,
  loginUser,
  registerUser,
} from '../test/auth-helpers.ts';
import { createUser, uniqueEmail } from '../test/factories.ts';
import { enrolMfa, mailingAppForFile, unusedBackupCodes } from '../test/mfa-helpers.ts';
import { auditOf, createKey, type Person, team } from '../test/org-helpers.ts';
import { linkFrom } from '../test/smtp.ts';

const { t, mail } = mailingAppForFile();

const ALICE_PASSWORD = 'alice owns this mailbox for real 11';

/** The token of the newest mail to `address` carrying a link to `path`. */
function mailedToken(address: string, path: string): string {
  const m = mail.sent.filter((x) => x.to === address && x.text.includes(path)).at(-1);
  if (!m) throw new Error(`no mail to ${address} with ${path}`);
  return new URL(linkFrom(m, path)).searchParams.get('token')!;
}

const post = (url: string, payload: object, headers: Record<string, string> = {}) =>
  t.app.inject({ method: 'POST', url, payload, headers });

interface Attacker {
  email: string;
  userId: string;
  access: string;
  refresh: string;
  key: { headers: Record<string, string> };
}

/** Registers the victim's address, enrols the attacker's TOTP and mints an API key. */
async function preClaim(email: string): Promise<Attacker> {
  const reg = await registerUser(t.app, { email, full_name: 'Mallory' });
  await enrolMfa(t.app, reg);
  // Enabling MFA keeps the session; the key is made with the attacker's own session.
  const asPerson = { headers: bearer(reg.access) } as unknown as Person;
  const key = await createKey(t.app, asPerson, ['phones:read']);
  expect((await t.app.inject({ url: '/api/phones', headers: key.headers })).statusCode).toBe(200);
  return { email, userId: reg.userId, access: reg.access, refresh: reg.refresh, key };
}

/** The mailbox owner asks for a reset link and sets ALICE_PASSWORD through it. */
async function resetThroughMailbox(email: string) {
  await forgotPassword(t.app, email);
  const reset = await post('/api/auth/password/reset', {
    token: mailedToken(email, '/reset-password?token='),
    new_password: ALICE_PASSWORD,
  });
  expect(reset.statusCode).toBe(204);
}

/** Every credential the attacker had is dead, and so is their second factor. */
async function expectLockedOut(a: Attacker) {
  const me = await t.app.inject({ url: '/api/users/me', headers: bearer(a.access) });
  expect(me.statusCode).toBe(401);
  const refreshed = await post('/api/auth/refresh', { refresh_token: a.refresh });
  expect(refreshed.statusCode).toBe(401);
  const keyUse = await t.app.inject({ url: '/api/phones', headers: a.key.headers });
  expect(keyUse.statusCode).toBe(401);
  const user = await withSystem(t.database, (tx) =>
    tx.selectFrom('users').selectAll().where('id', '=', a.userId).executeTakeFirstOrThrow(),
  );
  expect(user.mfa_enabled_at).toBeNull();
  expect(user.totp_secret_enc).toBeNull();
  expect(user.totp_pending_secret_enc).toBeNull();
  expect(user.email_verified_at).not.toBeNull();
  const codes = await unusedBackupCodes(t.database, a.userId);
  expect(codes).toEqual([]);
  const live = await withSystem(t.database, (tx) =>
    tx
      .selectFrom('sessions')
      .select('id')
      .where('user_id', '=', a.userId)
      .where('revoked_at', 'is', null)
      .execute(),
  );
  return live;
}

async function provenAudit(userId: string) {
  return withSystem(t.database, (tx) =>
    tx
      .selectFrom('audit_logs')
      .selectAll()
      .where('action', '=', 'account.mailbox_proven')
      .where('target_id', '=', userId)
      .execute(),
  );
}

describe('the mailbox owner resets the password of a pre-claimed account', () => {
  it('ends the attacker’s sessions, removes their TOTP and API keys, and audits it', async () => {
    const email = uniqueEmail('alice');
    const a = await preClaim(email);
    await resetThroughMailbox(email);

    expect(await expectLockedOut(a)).toEqual([]);
    // Alice logs in with her password alone: the attacker's second factor no longer guards it.
    const login = await loginUser(t.app, email, ALICE_PASSWORD);
    expect(login.statusCode).toBe(200);
    expect(login.json()).toHaveProperty('access_token');
    expect((await loginUser(t.app, email, GOOD_PASSWORD)).statusCode).toBe(401);

    const [entry, ...more] = await provenAudit(a.userId);
    expect(more).toEqual([]);
    expect(entry).toMatchObject({
      actor_user_id: a.userId,
      outcome: 'success',
      metadata: {
        via: 'reset_password',
        mfa_removed: true,
        backup_codes_retired: 10,
        api_keys_revoked: 1,
      },
    });
    expect((entry!.metadata as { sessions_ended: number }).sessions_ended).toBeGreaterThan(0);
    // The org whose key died sees why.
    const orgTrail = await auditOf(t.database, (await orgOf(a.userId))!);
    expect(
      orgTrail.find((e) => e.action === 'api_key.revoke' && e.outcome === 'success'),
    ).toMatchObject({ metadata: { reason: 'mailbox_proven' } });
  });

  it('revokes the invitations the pre-claimer sent: none admits them into her workspace', async () => {
    // The attacker, as the victim's account (owner of the org made at sign-up), invites their own
    // address as owner and waits for her to start using the workspace she lands in.
    const email = uniqueEmail('alice');
    const a = await preClaim(email);
    const mallory = uniqueEmail('mallory');
    const inv = await post(
      '/api/orgs/current/invitations',
      { email: mallory, role: 'owner' },
      bearer(a.access),
    );
    expect(inv.statusCode, inv.body).toBe(201);
    const token = mailedToken(mallory, '/accept-invite?token=');
    await resetThroughMailbox(email);

    const accepted = await post('/api/invitations/accept', {
      token,
      password: 'mallory chooses this passphrase 9',
    });
    expect(accepted.statusCode).toBe(410);
    expect(accepted.json().code).toBe('invitation_revoked');
    const row = await withSystem(t.database, (tx) =>
      tx
        .selectFrom('invitations')
        .select(['revoked_at', 'accepted_at'])
        .where('id', '=', inv.json().id)
        .executeTakeFirstOrThrow(),
    );
    expect(row.accepted_at).toBeNull();
    expect(row.revoked_at).not.toBeNull();
    const [entry] = await provenAudit(a.userId);
    expect(entry?.metadata).toMatchObject({ invitations_revoked: 1 });
    const orgTrail = await auditOf(t.database, (await orgOf(a.userId))!);
    expect(
      orgTrail.find((e) => e.action === 'invitation.revoke' && e.target_id === inv.json().id),
    ).toMatchObject({ metadata: { reason: 'mailbox_proven', role: 'owner' } });
  });

  it('a verified account keeps its MFA and keys across a reset: only the first proof purges', async () => {
    const email = uniqueEmail('verified');
    const a = await preClaim(email);
    // The owner proves the mailbox once (this purges), then sets MFA up again herself.
    await post('/api/auth/password/forgot', { email });
    await post('/api/auth/password/reset', {
      token: mailedToken(email, '/reset-password?token='),
      new_password: ALICE_PASSWORD,
    });
    const login = (await loginUser(t.app, email, ALICE_PASSWORD)).json();
    await enrolMfa(t.app, { access: login.access_token });
    mail.sent.length = 0;
    await post('/api/auth/password/forgot', { email });
    const again = await post('/api/auth/password/reset', {
      token: mailedToken(email, '/reset-password?token='),
      new_password: `${ALICE_PASSWORD} two`,
    });
    expect(again.statusCode).toBe(204);
    const user = await withSystem(t.database, (tx) =>
      tx.selectFrom('users').selectAll().where('id', '=', a.userId).executeTakeFirstOrThrow(),
    );
    expect(user.mfa_enabled_at).not.toBeNull();
    expect(await provenAudit(a.userId)).toHaveLength(1);
  });
});

async function orgOf(userId: string): Promise<string | undefined> {
  const m = await withSystem(t.database, (tx) =>
    tx.selectFrom('memberships').select('org_id').where('user_id', '=', userId).executeTakeFirst(),
  );
  return m?.org_id;
}

// The verification link alone must not hand the registrant a verified account: were the
// password set before the proof to survive it, whoever registered the address would log in again
// with it and hold an account that now looks like the mailbox owner's (a later invitation into it
// is then accepted from their session). So a never-verified account with a password verifies only
// with that password too; a mailbox owner who does not know it uses "forgot password", whose link
// proves the address and replaces the password.
describe('the mailbox owner follows the verification link of a pre-claimed account', () => {
  const verify = (payload: object, headers: Record<string, string> = {}) =>
    post('/api/auth/email/verify', payload, headers);

  async function userRow(id: string) {
    return withSystem(t.database, (tx) =>
      tx.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirstOrThrow(),
    );
  }

  async function tokenRow(token: string) {
    return withSystem(t.database, (tx) =>
      tx
        .selectFrom('user_tokens')
        .selectAll()
        .where('token_hash', '=', hashToken(token))
        .executeTakeFirstOrThrow(),
    );
  }

  it('is refused without the password: nothing is verified, nothing spent, and the answer says to use forgot-password', async () => {
    const email = uniqueEmail('verify');
    const a = await preClaim(email);
    const token = mailedToken(email, '/verify-email?token=');

    const res = await verify({ token });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'validation_failed' });
    const [error, ...others] = res.json().errors;
    expect(others).toEqual([]);
    expect(error.field).toBe('password');
    expect(error.message).toMatch(/password you chose when you signed up/);
    expect(error.message).toMatch(/forgot password/i);

    // A wrong guess at the registrant's password is refused like a wrong login.
    const wrong = await verify({ token, password: ALICE_PASSWORD });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().code).toBe('invalid_credentials');

    expect((await userRow(a.userId)).email_verified_at).toBeNull();
    expect((await tokenRow(token)).used_at).toBeNull();
    expect(await provenAudit(a.userId)).toEqual([]);
    // The attacker's password opens only the same unverified account it did before.
    const login = await loginUser(t.app, email, GOOD_PASSWORD);
    expect(login.statusCode).toBe(200);
    expect(login.json()).toMatchObject({ mfa_required: true });
  });

  it('the attacker cannot verify without the mail, whatever they send', async () => {
    const email = uniqueEmail('verify');
    const a = await preClaim(email);
    for (const token of ['a'.repeat(43), hashToken('guess')]) {
      for (const headers of [{}, bearer(a.access)]) {
        const res = await verify({ token, password: GOOD_PASSWORD }, headers);
        expect(res.statusCode).toBe(400);
        expect(res.json().code).toBe('invalid_token');
      }
    }
    // Their session carries no token of its own: the body's token is the only proof.
    const noToken = await verify({ password: GOOD_PASSWORD }, bearer(a.access));
    expect(noToken.statusCode).toBe(400);
    expect((await userRow(a.userId)).email_verified_at).toBeNull();
  });

  it('the mailbox owner uses forgot-password: the attacker is locked out, and the verify link then just confirms', async () => {
    const email = uniqueEmail('verify');
    const a = await preClaim(email);
    const verifyToken = mailedToken(email, '/verify-email?token=');
    expect((await verify({ token: verifyToken })).statusCode).toBe(400);

    await resetThroughMailbox(email);
    expect(await expectLockedOut(a)).toEqual([]);
    expect((await loginUser(t.app, email, GOOD_PASSWORD)).statusCode).toBe(401);
    expect((await provenAudit(a.userId))[0]).toMatchObject({
      metadata: { via: 'reset_password', mfa_removed: true, api_keys_revoked: 1 },
    });

    // The address is proven now: its verification link needs no password and changes nothing.
    const confirmed = await verify({ token: verifyToken });
    expect(confirmed.statusCode).toBe(204);
    expect(await provenAudit(a.userId)).toHaveLength(1);
    const login = await loginUser(t.app, email, ALICE_PASSWORD);
    expect(login.statusCode).toBe(200);
    const me = await t.app.inject({ url: '/auth/me', headers: bearer(login.json().access_token) });
    expect(me.json().email_verified).toBe(true);
  });

  it('the registrant who owns the mailbox verifies with their own password; the first proof still purges', async () => {
    const email = uniqueEmail('verify');
    const a = await preClaim(email);
    const token = mailedToken(email, '/verify-email?token=');
    const res = await verify({ token, password: GOOD_PASSWORD });
    expect(res.statusCode, res.body).toBe(204);
    expect(await expectLockedOut(a)).toEqual([]);
    expect((await provenAudit(a.userId))[0]).toMatchObject({
      metadata: { via: 'verify_email', mfa_removed: true, api_keys_revoked: 1 },
    });
    // Their password survives (it is theirs), their old second factor does not.
    const login = await loginUser(t.app, email, GOOD_PASSWORD);
    expect(login.json()).toHaveProperty('access_token');
    // The link worked once.
    const again = await verify({ token, password: GOOD_PASSWORD });
    expect(again.json().code).toBe('invalid_token');
  });

  it('an account without a password (made by an admin) verifies with the token alone', async () => {
    const email = uniqueEmail('nopass');
    const user = await createUser(t.database, { email });
    await post('/api/auth/email/resend', { email });
    const res = await verify({ token: mailedToken(email, '/verify-email?token=') });
    expect(res.statusCode, res.body).toBe(204);
    expect((await userRow(user.id)).email_verified_at).not.toBeNull();
    expect((await userRow(user.id)).password_hash).toBeNull();
  });

  it('wrong passwords are counted by the login guard before they are checked, in parallel too', async () => {
    const pairPoints = t.config.rateLimits.login_account_ip.points;
    const PARALLEL = 40;
    const email = uniqueEmail('verify');
    const a = await preClaim(email);
    const token = mailedToken(email, '/verify-email?token=');
    const counts: Record<number, number> = {};
    const answers = await Promise.all(
      Array.from({ length: PARALLEL }, () => verify({ token, password: 'a wrong guess of it 1' })),
    );
    for (const r of answers) counts[r.statusCode] = (counts[r.statusCode] ?? 0) + 1;
    expect(counts).toEqual({ 401: pairPoints, 429: PARALLEL - pairPoints });
    // One budget with login: the right password is refused too while the block lasts, there and
    // at the login form.
    expect((await verify({ token, password: GOOD_PASSWORD })).statusCode).toBe(429);
    expect((await loginUser(t.app, email, GOOD_PASSWORD)).statusCode).toBe(429);
    expect((await tokenRow(token)).used_at).toBeNull();
    expect((await userRow(a.userId)).email_verified_at).toBeNull();
    const failures = await withSystem(t.database, (tx) =>
      tx
        .selectFrom('audit_logs')
        .selectAll()
        .where('action', '=', 'auth.email_verify')
        .where('actor_user_id', '=', a.userId)
        .where('outcome', '=', 'failure')
        .execute(),
    );
    expect(failures).toHaveLength(pairPoints);
    expect(failures[0]).toMatchObject({ metadata: { reason: 'invalid_credentials' } });
  });
});

describe('an invitation for a pre-claimed (unverified) account', () => {
  async function setUp() {
    const corp = await team(t, 'Corp');
    const email = uniqueEmail('alice');
    const a = await preClaim(email);
    const inv = await post(
      '/api/orgs/current/invitations',
      { email, role: 'admin' },
      corp.owner.headers,
    );
    expect(inv.statusCode).toBe(201);
    return { corp, email, a, token: mailedToken(email, '/accept-invite?token=') };
  }

  async function isMember(orgId: string, userId: string) {
    const m = await withSystem(t.database, (tx) =>
      tx
        .selectFrom('memberships')
        .select('status')
        .where('org_id', '=', orgId)
        .where('user_id', '=', userId)
        .executeTakeFirst(),
    );
    return m?.status === 'active';
  }

  it('is not accepted by whoever merely holds a session as that address (login CSRF)', async () => {
    const { corp, a, token } = await setUp();
    // Alice's browser carries the attacker's session; she clicks Accept.
    const res = await post('/api/invitations/accept', { token }, bearer(a.access));
    expect(res.statusCode).toBe(400);
    expect(res.json().errors).toEqual([{ field: 'password', message: expect.any(String) }]);
    expect(await isMember(corp.org.id, a.userId)).toBe(false);
    // The link still works for its owner.
    const pending = await withSystem(t.database, (tx) =>
      tx
        .selectFrom('invitations')
        .select('accepted_at')
        .where('org_id', '=', corp.org.id)
        .executeTakeFirstOrThrow(),
    );
    expect(pending.accepted_at).toBeNull();
  });

  it('the token holder proves the mailbox, chooses the password, joins; the attacker is locked out', async () => {
    const { corp, email, a, token } = await setUp();
    // Even from the browser where the attacker's session sits.
    const res = await post(
      '/api/invitations/accept',
      { token, password: ALICE_PASSWORD },
      bearer(a.access),
    );
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({
      user: { id: a.userId, email, email_verified: true },
      org: { id: corp.org.id },
      role: 'admin',
      token_type: 'bearer',
    });
    expect(await expectLockedOut(a)).toEqual([
      { id: expect.any(String) }, // the session just opened for the mailbox owner
    ]);
    expect(
      (await t.app.inject({ url: '/api/users/me', headers: bearer(body.access_token) })).statusCode,
    ).toBe(200);
    // The attacker's password died with the proof; Alice's works, without the attacker's TOTP.
    expect((await loginUser(t.app, email, GOOD_PASSWORD)).statusCode).toBe(401);
    const login = await loginUser(t.app, email, ALICE_PASSWORD);
    expect(login.json()).toHaveProperty('access_token');
    expect(await isMember(corp.org.id, a.userId)).toBe(true);
    expect((await provenAudit(a.userId))[0]).toMatchObject({
      metadata: { via: 'invitation', mfa_removed: true, api_keys_revoked: 1 },
    });
    const trail = await auditOf(t.database, corp.org.id);
    expect(
      trail.find((e) => e.action === 'invitation.accept' && e.outcome === 'success'),
    ).toMatchObject({ actor_user_id: a.userId, metadata: { new_account: false } });
    expect(JSON.stringify(trail)).not.toContain(token);
  });

  it('a different logged-in account cannot accept it', async () => {
    const { corp, a, token } = await setUp();
    const res = await post(
      '/api/invitations/accept',
      { token, password: ALICE_PASSWORD },
      {
        ...corp.member.headers,
      },
    );
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('invitation_wrong_account');
    expect(await isMember(corp.org.id, corp.member.user.id)).toBe(true);
    expect(await isMember(corp.org.id, a.userId)).toBe(false);
    // Nothing was purged by a refused accept.
    expect(
      (await t.app.inject({ url: '/api/users/me', headers: bearer(a.access) })).statusCode,
    ).toBe(200);
  });
});
