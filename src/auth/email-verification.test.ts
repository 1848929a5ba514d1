// Email verification over HTTP: the link mailed at sign-up, verifying once, resending (signed in
// and signed out, rate limited), and REQUIRE_EMAIL_VERIFICATION at login.
import { describe, expect, it } from 'vitest';
import { hashToken } from '../crypto/tokens.ts';
import { withSystem } from '../db/tenant.ts';
import { buildTestApp } from '../test/app.ts';
import {
  bearer,
  forgotPassword,
  GOOD_PASSWORD,
  loginUser,
  registerUser,
} from '../test/auth-helpers.ts';
import { uniqueEmail } from '../test/factories.ts';
import { capturingMailer, mailingAppForFile } from '../test/mfa-helpers.ts';
import { linkFrom } from '../test/smtp.ts';

const { t, mail } = mailingAppForFile();

const VERIFY_SUBJECT = /Confirm your email address/;

function tokenOf(address: string, nth = -1): string {
  const m = mail.to(address, VERIFY_SUBJECT).at(nth);
  if (!m) throw new Error(`no verification mail to ${address}`);
  return new URL(linkFrom(m, '/verify-email?token=')).searchParams.get('token')!;
}

/** An unverified account with a password verifies with that password too (mailbox-proof.ts). */
const verify = (token: unknown, password?: string) =>
  t.app.inject({
    method: 'POST',
    url: '/api/auth/email/verify',
    payload: password === undefined ? { token } : { token, password },
  });
const resend = (headers: Record<string, string>, payload?: object) =>
  t.app.inject({ method: 'POST', url: '/api/auth/email/resend', headers, payload });

describe('sign-up mails', () => {
  it('sends a welcome mail and a verification link to the new address, token stored hashed', async () => {
    const u = await registerUser(t.app);
    expect(mail.to(u.email, /Welcome to Switchboard/)).toHaveLength(1);
    const m = mail.to(u.email, VERIFY_SUBJECT);
    expect(m).toHaveLength(1);
    expect(m[0]!.html).toContain('/verify-email?token=');
    const token = tokenOf(u.email);
    const rows = await withSystem(t.database, (tx) =>
      tx.selectFrom('user_tokens').selectAll().where('user_id', '=', u.userId).execute(),
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ purpose: 'verify_email', token_hash: hashToken(token) });
    expect(JSON.stringify(rows)).not.toContain(token);
    const ttl = rows[0]!.expires_at.getTime() - rows[0]!.created_at.getTime();
    expect(Math.abs(ttl - 24 * 3600_000)).toBeLessThan(60_000);
  });
});

describe('POST /api/auth/email/verify', () => {
  it('verifies once (204); the second use is 400 invalid_token', async () => {
    const u = await registerUser(t.app);
    const token = tokenOf(u.email);
    const me = (access: string) => t.app.inject({ url: '/auth/me', headers: bearer(access) });
    expect((await me(u.access)).json().email_verified).toBe(false);
    const first = await verify(token, u.password);
    expect(first.statusCode).toBe(204);
    // The first proof of the address ends the sessions opened before it (mailbox-proof.ts).
    expect((await me(u.access)).statusCode).toBe(401);
    const again = (await loginUser(t.app, u.email, u.password)).json().access_token;
    expect((await me(again)).json().email_verified).toBe(true);
    // Once verified, the address needs no password: the token alone is judged, and it is spent.
    const second = await verify(token);
    expect(second.statusCode).toBe(400);
    expect(second.json().code).toBe('invalid_token');
    const audit = await withSystem(t.database, (tx) =>
      tx
        .selectFrom('audit_logs')
        .selectAll()
        .where('action', '=', 'auth.email_verify')
        .where('target_id', '=', u.userId)
        .execute(),
    );
    expect(audit).toHaveLength(1);
    expect(JSON.stringify(audit)).not.toContain(token);
  });

  it('an expired token is 400 invalid_token', async () => {
    const u = await registerUser(t.app);
    const token = tokenOf(u.email);
    await withSystem(t.database, (tx) =>
      tx
        .updateTable('user_tokens')
        .set({ expires_at: new Date(Date.now() - 1000) })
        .where('token_hash', '=', hashToken(token))
        .execute(),
    );
    const res = await verify(token);
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('invalid_token');
  });

  it("a disabled account's link is 400 invalid_token and changes nothing (as a reset link)", async () => {
    const u = await registerUser(t.app);
    const token = tokenOf(u.email);
    const setStatus = (status: 'active' | 'disabled') =>
      withSystem(t.database, (tx) =>
        tx.updateTable('users').set({ status }).where('id', '=', u.userId).execute(),
      );
    await setStatus('disabled');
    const res = await verify(token, u.password);
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('invalid_token');
    const after = await withSystem(t.database, (tx) =>
      tx
        .selectFrom('users')
        .select('email_verified_at')
        .where('id', '=', u.userId)
        .executeTakeFirstOrThrow(),
    );
    expect(after.email_verified_at).toBeNull();
    // Enabled again, the unspent link still works.
    await setStatus('active');
    expect((await verify(token, u.password)).statusCode).toBe(204);
  });

  it('garbage and malformed bodies are 400, never a 500', async () => {
    for (const token of ['', 'short', 'x'.repeat(512), '<script>', 'ü'.repeat(30)]) {
      const res = await verify(token);
      expect(res.statusCode).toBe(400);
    }
    expect((await verify(42)).statusCode).toBe(400);
    for (const password of ['', 'x'.repeat(1025), 42 as unknown as string]) {
      const res = await verify('a'.repeat(43), password);
      expect(res.json()).toMatchObject({ status: 400, code: 'validation_failed' });
    }
    const extra = await t.app.inject({
      method: 'POST',
      url: '/api/auth/email/verify',
      payload: { token: 'a'.repeat(43), user_id: 'x' },
    });
    expect(extra.json().code).toBe('validation_failed');
  });

  it('another purpose of token (a password reset) does not verify', async () => {
    const u = await registerUser(t.app);
    await forgotPassword(t.app, u.email);
    const reset = mail.to(u.email, /Reset your/).at(-1)!;
    const token = new URL(linkFrom(reset, '/reset-password?token=')).searchParams.get('token');
    expect((await verify(token)).statusCode).toBe(400);
  });
});

describe('POST /api/auth/email/resend', () => {
  it('signed in: a new link (the old one dies), then 429 after the limit', async () => {
    const u = await registerUser(t.app);
    const old = tokenOf(u.email);
    const limit = t.config.rateLimits.email_resend.points;
    for (let i = 0; i < limit; i++) {
      const res = await resend(bearer(u.access));
      expect(res.statusCode).toBe(202);
    }
    expect(mail.to(u.email, VERIFY_SUBJECT)).toHaveLength(1 + limit);
    const limited = await resend(bearer(u.access));
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBeDefined();
    expect(mail.to(u.email, VERIFY_SUBJECT)).toHaveLength(1 + limit);

    expect((await verify(old, u.password)).statusCode).toBe(400);
    expect((await verify(tokenOf(u.email), u.password)).statusCode).toBe(204);
  });

  it('signed in and already verified: the same answer, no mail', async () => {
    const u = await registerUser(t.app);
    expect((await verify(tokenOf(u.email), u.password)).statusCode).toBe(204);
    const access = (await loginUser(t.app, u.email, u.password)).json().access_token;
    const before = mail.sent.length;
    const res = await resend(bearer(access));
    expect(res.statusCode).toBe(202);
    expect(mail.sent.length).toBe(before);
  });

  it('signed out: the same answer for an unverified account and an unknown address', async () => {
    const u = await registerUser(t.app);
    const known = await resend({}, { email: u.email.toUpperCase() });
    const unknown = await resend({}, { email: uniqueEmail('nobody') });
    expect(known.statusCode).toBe(202);
    expect(unknown.statusCode).toBe(202);
    expect(known.json()).toEqual(unknown.json());
    expect(mail.to(u.email, VERIFY_SUBJECT)).toHaveLength(2);
    const noBody = await resend({});
    expect(noBody.statusCode).toBe(401);
  });
});

describe('REQUIRE_EMAIL_VERIFICATION', () => {
  it('sign-up opens no session; an unverified user is refused with 403 email_not_verified, but only after a correct password', async () => {
    const strictMail = capturingMailer();
    const strict = await buildTestApp({
      env: { REQUIRE_EMAIL_VERIFICATION: 'true' },
      database: t.database,
      deps: { mailer: strictMail },
    });
    try {
      // Sign-up creates the account but opens no session: no tokens, no cookies, nothing stored.
      const u = { email: uniqueEmail('strict'), password: GOOD_PASSWORD };
      const signUp = await strict.app.inject({
        method: 'POST',
        url: '/api/auth/register',
        payload: { ...u, full_name: 'Ada Lovelace', company_name: 'Strict Co' },
      });
      expect(signUp.statusCode).toBe(202);
      expect(signUp.json()).toMatchObject({
        user: { email: u.email, email_verified: false },
        role: 'owner',
        email_verification_required: true,
      });
      expect(signUp.json()).not.toHaveProperty('access_token');
      expect(signUp.json()).not.toHaveProperty('refresh_token');
      expect(signUp.headers['set-cookie']).toBeUndefined();
      const userId = signUp.json().user.id as string;
      const sessions = await withSystem(t.database, (tx) =>
        tx.selectFrom('sessions').select('id').where('user_id', '=', userId).execute(),
      );
      expect(sessions).toEqual([]);

      const wrong = await loginUser(strict.app, u.email, 'wrong password, certainly');
      expect(wrong.statusCode).toBe(401);
      expect(wrong.json().code).toBe('invalid_credentials');
      const refused = await loginUser(strict.app, u.email, u.password);
      expect(refused.statusCode).toBe(403);
      expect(refused.json().code).toBe('email_not_verified');
      expect(refused.json()).not.toHaveProperty('access_token');

      const m = strictMail.to(u.email, VERIFY_SUBJECT)[0]!;
      const token = new URL(linkFrom(m, '/verify-email?token=')).searchParams.get('token');
      const ok = await strict.app.inject({
        method: 'POST',
        url: '/api/auth/email/verify',
        payload: { token, password: u.password },
      });
      expect(ok.statusCode).toBe(204);
      expect((await loginUser(strict.app, u.email, u.password)).statusCode).toBe(200);
    } finally {
      await strict.close();
    }
  });

  it('is off by default: unverified users log in', async () => {
    const u = await registerUser(t.app);
    expect((await loginUser(t.app, u.email, u.password)).statusCode).toBe(200);
  });
});
