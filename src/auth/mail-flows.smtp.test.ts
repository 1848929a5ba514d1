// The mail path end to end: the app's real mailer (nodemailer over SMTP) against an SMTP server
// on 127.0.0.1; links are read from the received messages and followed. And a dead SMTP server
// never fails the request that caused a mail.
import { createServer } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withSystem } from '../db/tenant.ts';
import { createMailer } from '../mail/mailer.ts';
import { buildTestApp, type TestApp } from '../test/app.ts';
import {
  bearer,
  changePassword,
  forgotPassword,
  loginUser,
  registerUser,
} from '../test/auth-helpers.ts';
import { enrolMfa } from '../test/mfa-helpers.ts';
import { linkFrom, startTestSmtpServer, type TestSmtpServer } from '../test/smtp.ts';

let smtp: TestSmtpServer;
let t: TestApp;
beforeAll(async () => {
  smtp = await startTestSmtpServer();
  t = await buildTestApp({ env: { SMTP_URL: smtp.url, PUBLIC_URL: 'https://sb.example.test' } });
});
afterAll(async () => {
  await t.close();
  await smtp.close();
});

const NEW_PASSWORD = 'a passphrase chosen after the mail 5';

describe('over a real SMTP server', () => {
  it('sign-up: welcome and verification mails; following the link verifies the address', async () => {
    const u = await registerUser(t.app);
    const welcome = await smtp.waitFor((m) => m.to === u.email && /Welcome/.test(m.subject));
    expect(welcome.partTypes).toEqual(['text/plain', 'text/html']);
    const m = await smtp.waitFor((x) => x.to === u.email && /Confirm your email/.test(x.subject));
    expect(m.partTypes).toEqual(['text/plain', 'text/html']);
    const link = new URL(linkFrom(m, '/verify-email?token='));
    expect(link.origin).toBe('https://sb.example.test');
    expect(m.html).toContain(link.search.replace(/&/g, '&amp;'));

    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/email/verify',
      payload: { token: link.searchParams.get('token'), password: u.password },
    });
    expect(res.statusCode).toBe(204);
    // The first proof of the address ended the sign-up session; a new login sees it verified.
    expect((await t.app.inject({ url: '/auth/me', headers: bearer(u.access) })).statusCode).toBe(
      401,
    );
    const access = (await loginUser(t.app, u.email, u.password)).json().access_token;
    const me = await t.app.inject({ url: '/auth/me', headers: bearer(access) });
    expect(me.json().email_verified).toBe(true);
  });

  it('forgot password: the mailed link resets the password, then a notice arrives', async () => {
    const u = await registerUser(t.app);
    const forgot = await forgotPassword(t.app, u.email);
    expect(forgot.statusCode).toBe(202);
    const m = await smtp.waitFor((x) => x.to === u.email && /Reset your/.test(x.subject));
    const link = new URL(linkFrom(m, '/reset-password?token='));
    expect(link.pathname).toBe('/reset-password');
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/password/reset',
      payload: { token: link.searchParams.get('token'), new_password: NEW_PASSWORD },
    });
    expect(res.statusCode).toBe(204);
    expect((await loginUser(t.app, u.email, NEW_PASSWORD)).statusCode).toBe(200);
    await smtp.waitFor((x) => x.to === u.email && /password was reset/.test(x.subject));
  });

  it('security notices: MFA on, password changed, new device (not the sign-up device)', async () => {
    const u = await registerUser(t.app, {}, { 'user-agent': 'Laptop Browser/1.0' });
    await enrolMfa(t.app, u);
    await smtp.waitFor((x) => x.to === u.email && /turned on/.test(x.subject));

    const changed = await changePassword(t.app, bearer(u.access), u.password, NEW_PASSWORD);
    expect(changed.statusCode).toBe(204);
    await smtp.waitFor((x) => x.to === u.email && /password was changed/.test(x.subject));

    // A user without MFA: each of these logins issues a session, so each is judged.
    const plain = await registerUser(t.app, {}, { 'user-agent': 'Laptop Browser/1.0' });
    const same = await loginUser(t.app, plain.email, plain.password, {
      'user-agent': 'Laptop Browser/1.0',
    });
    expect(same.statusCode).toBe(200);
    const other = await loginUser(t.app, plain.email, plain.password, {
      'user-agent': 'Phone App/2.0',
    });
    expect(other.statusCode).toBe(200);
    const notice = await smtp.waitFor((x) => x.to === plain.email && /New sign-in/.test(x.subject));
    expect(notice.text).toContain('Phone App/2.0');
    expect(notice.text).toContain('127.0.0.1');
    // Again from the now-known device: no second notice.
    await loginUser(t.app, plain.email, plain.password, { 'user-agent': 'Phone App/2.0' });
    // The new-device check runs after the answer (background work), then its mail is queued.
    await t.app.background.idle();
    await t.app.auth.mailer?.drain();
    expect(
      smtp.messages.filter((x) => x.to === plain.email && /New sign-in/.test(x.subject)),
    ).toHaveLength(1);
  });
});

describe('with the SMTP server down', () => {
  it('requests that send mail still succeed, and their effects are kept', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));

    const mailer = createMailer({
      smtpUrl: `smtp://127.0.0.1:${port}`,
      from: 'Switchboard <no-reply@sb.example.test>',
      outboxDir: '/nonexistent',
      logger: pino({ level: 'silent' }),
      retries: 1,
      retryDelayMs: 10,
    });
    const down = await buildTestApp({ database: t.database, deps: { mailer } });
    try {
      const u = await registerUser(down.app);
      const forgot = await forgotPassword(down.app, u.email);
      expect(forgot.statusCode).toBe(202);
      const change = await changePassword(down.app, bearer(u.access), u.password, NEW_PASSWORD);
      expect(change.statusCode).toBe(204);
      const tokens = await withSystem(t.database, (tx) =>
        tx.selectFrom('user_tokens').select('purpose').where('user_id', '=', u.userId).execute(),
      );
      expect(tokens.map((x) => x.purpose).sort()).toEqual(['reset_password', 'verify_email']);
      expect((await loginUser(down.app, u.email, NEW_PASSWORD)).statusCode).toBe(200);
      await mailer.drain(); // every delivery gave up without throwing into anyone
    } finally {
      await down.close();
      await mailer.close();
    }
  });
});
