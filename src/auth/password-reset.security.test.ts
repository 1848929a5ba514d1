// Password reset under attack: no enumeration (same status, body and database work for known and
// unknown addresses, also when rate limited), tokens stored hashed, single use, expiring,
// replaced by newer ones, and a reset ending every session.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../crypto/tokens.ts';
import { withSystem } from '../db/tenant.ts';
import { buildTestApp, type TestApp } from '../test/app.ts';
import {
  bearer,
  changePassword,
  forgotPassword,
  GOOD_PASSWORD,
  loginUser,
  registerUser,
} from '../test/auth-helpers.ts';
import { countingFlights } from '../test/db.ts';
import { createUser, uniqueEmail } from '../test/factories.ts';
import {
  type CapturingMailer,
  capturingMailer,
  enrolMfa,
  mfaVerify,
  passwordStep,
} from '../test/mfa-helpers.ts';
import { linkFrom } from '../test/smtp.ts';
import { issueUserToken } from './user-tokens.ts';

let t: TestApp;
let mail: CapturingMailer;
beforeAll(async () => {
  mail = capturingMailer();
  t = await buildTestApp({
    deps: { mailer: mail },
    env: { RATE_LIMIT_PASSWORD_FORGOT_ACCOUNT: '100000/3600' },
  });
});
afterAll(() => t.close());

const NEW_PASSWORD = 'a brand new passphrase for checks 7';
const RESET_SUBJECT = /Reset your Switchboard password/;

const reset = (token: unknown, new_password = NEW_PASSWORD) =>
  t.app.inject({
    method: 'POST',
    url: '/api/auth/password/reset',
    payload: { token, new_password },
  });

function resetTokenOf(address: string, nth = -1): string {
  const m = mail.to(address, RESET_SUBJECT).at(nth);
  if (!m) throw new Error(`no reset mail to ${address}`);
  const link = new URL(linkFrom(m, '/reset-password?token='));
  return link.searchParams.get('token')!;
}

/** Status and body without the per-request fields. */
function answer(res: Awaited<ReturnType<typeof forgotPassword>>) {
  const body = res.json();
  delete body.request_id;
  return { status: res.statusCode, body, retry: res.headers['retry-after'] !== undefined };
}

describe('forgot password: no enumeration', () => {
  it('known and unknown addresses get the same 202 and body; only the known one gets mail', async () => {
    const u = await registerUser(t.app);
    const unknown = uniqueEmail('ghost');
    const a = await forgotPassword(t.app, u.email);
    const b = await forgotPassword(t.app, unknown);
    const c = await forgotPassword(t.app, 'not even an address');
    expect(a.statusCode).toBe(202);
    expect(answer(a)).toEqual(answer(b));
    expect(answer(a)).toEqual(answer(c));
    expect(a.headers['content-type']).toBe(b.headers['content-type']);
    expect(mail.to(u.email, RESET_SUBJECT)).toHaveLength(1);
    expect(mail.to(unknown)).toHaveLength(0);
  });

  // Judged by the statements each request sends, not by a stopwatch (timing comparisons flaked
  // on loaded machines): the same statements in the same round trips, whoever owns the address.
  it('does the same database work for known and unknown addresses', async () => {
    const counting = countingFlights(t.database);
    const counted = await buildTestApp({
      database: counting.db,
      deps: { mailer: capturingMailer() },
      // No poller's round trip may fall between a request's own.
      env: { RATE_LIMIT_PASSWORD_FORGOT_ACCOUNT: '100000/3600', REVOCATION_POLL_MS: '60000' },
    });
    try {
      const u = await registerUser(counted.app);
      const sent = async (email: string) => {
        const before = counting.flights();
        expect((await forgotPassword(counted.app, email)).statusCode).toBe(202);
        return counting.statements().slice(before);
      };
      const known = await sent(u.email);
      const unknown = await sent(uniqueEmail('ghost'));
      expect(known.flat()).toEqual(
        expect.arrayContaining([expect.stringMatching(/insert into "audit_logs"/)]),
      );
      expect(unknown).toEqual(known);
    } finally {
      await counted.close();
    }
  });

  it('rate limits answer the same 429 for known and unknown addresses', async () => {
    const strict = await buildTestApp({
      database: t.database,
      deps: { mailer: capturingMailer() },
      env: {
        RATE_LIMIT_PASSWORD_FORGOT_ACCOUNT: '2/3600',
        RATE_LIMIT_PASSWORD_FORGOT_IP: '100000/3600',
      },
    });
    try {
      const u = await registerUser(strict.app);
      const ghost = uniqueEmail('ghost');
      const known = [];
      const unknown = [];
      for (let i = 0; i < 3; i++) {
        known.push(answer(await forgotPassword(strict.app, u.email)));
        unknown.push(answer(await forgotPassword(strict.app, ghost)));
      }
      expect(known.map((k) => k.status)).toEqual([202, 202, 429]);
      const strip = (x: { status: number; body: { detail?: string } }) => ({
        ...x,
        body: { ...x.body, detail: undefined },
      });
      expect(known.map(strip)).toEqual(unknown.map(strip));
      expect(known[2]!.retry).toBe(true);
    } finally {
      await strict.close();
    }
    const perIp = await buildTestApp({
      database: t.database,
      deps: { mailer: capturingMailer() },
      env: { RATE_LIMIT_PASSWORD_FORGOT_IP: '3/3600' },
    });
    try {
      const statuses = [];
      for (let i = 0; i < 4; i++)
        statuses.push((await forgotPassword(perIp.app, uniqueEmail())).statusCode);
      expect(statuses).toEqual([202, 202, 202, 429]);
    } finally {
      await perIp.close();
    }
  });
});

describe('reset tokens', () => {
  it('are stored only hashed and expire after PASSWORD_RESET_TTL_MINUTES (default 30)', async () => {
    const u = await registerUser(t.app);
    await forgotPassword(t.app, u.email);
    const token = resetTokenOf(u.email);
    const rows = await withSystem(t.database, (tx) =>
      tx
        .selectFrom('user_tokens')
        .selectAll()
        .where('user_id', '=', u.userId)
        .where('purpose', '=', 'reset_password')
        .execute(),
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.token_hash).toBe(hashToken(token));
    expect(JSON.stringify(rows)).not.toContain(token);
    const ttl = rows[0]!.expires_at.getTime() - rows[0]!.created_at.getTime();
    expect(Math.abs(ttl - 30 * 60_000)).toBeLessThan(60_000);
    expect(mail.to(u.email, RESET_SUBJECT).at(-1)!.text).toContain('expires in 30 minutes');

    const short = await buildTestApp({
      database: t.database,
      deps: { mailer: capturingMailer() },
      env: { PASSWORD_RESET_TTL_MINUTES: '10' },
    });
    try {
      await forgotPassword(short.app, u.email);
      const newest = await withSystem(t.database, (tx) =>
        tx
          .selectFrom('user_tokens')
          .selectAll()
          .where('user_id', '=', u.userId)
          .where('purpose', '=', 'reset_password')
          .where('used_at', 'is', null)
          .executeTakeFirstOrThrow(),
      );
      const ttl10 = newest.expires_at.getTime() - newest.created_at.getTime();
      expect(Math.abs(ttl10 - 10 * 60_000)).toBeLessThan(60_000);
    } finally {
      await short.close();
    }
  });

  it('reset ends every session, sets the password, notifies; the token works once', async () => {
    const u = await registerUser(t.app);
    const other = (await loginUser(t.app, u.email, u.password)).json();
    await forgotPassword(t.app, u.email);
    const token = resetTokenOf(u.email);

    const res = await reset(token);
    expect(res.statusCode).toBe(204);

    for (const access of [u.access, other.access_token]) {
      expect((await t.app.inject({ url: '/auth/me', headers: bearer(access) })).statusCode).toBe(
        401,
      );
    }
    for (const refresh_token of [u.refresh, other.refresh_token]) {
      const r = await t.app.inject({
        method: 'POST',
        url: '/api/auth/refresh',
        payload: { refresh_token },
      });
      expect(r.statusCode).toBe(401);
    }
    const live = await withSystem(t.database, (tx) =>
      tx
        .selectFrom('sessions')
        .select('id')
        .where('user_id', '=', u.userId)
        .where('revoked_at', 'is', null)
        .execute(),
    );
    expect(live).toEqual([]);
    expect((await loginUser(t.app, u.email, u.password)).statusCode).toBe(401);
    expect((await loginUser(t.app, u.email, NEW_PASSWORD)).statusCode).toBe(200);
    expect(mail.to(u.email, /password was reset/)).toHaveLength(1);

    const again = await reset(token, 'yet another passphrase for checks 9');
    expect(again.statusCode).toBe(400);
    expect(again.json().code).toBe('invalid_token');

    const audit = await withSystem(t.database, (tx) =>
      tx
        .selectFrom('audit_logs')
        .selectAll()
        .where('action', 'in', ['auth.password_reset', 'auth.password_reset_request'])
        .where('target_id', '=', u.userId)
        .execute(),
    );
    expect(audit.map((a) => a.action).sort()).toEqual([
      'auth.password_reset',
      'auth.password_reset_request',
    ]);
    expect(JSON.stringify(audit)).not.toContain(token);
    expect(JSON.stringify(audit)).not.toContain(NEW_PASSWORD);
  });

  it('a reset kills a login half-done with the old password (its MFA step fails)', async () => {
    const u = await registerUser(t.app);
    // Verified: the first proof of the mailbox (mailbox-proof.ts) would end the login anyway.
    await withSystem(t.database, (tx) =>
      tx
        .updateTable('users')
        .set({ email_verified_at: new Date() })
        .where('id', '=', u.userId)
        .execute(),
    );
    const { backupCodes } = await enrolMfa(t.app, u);
    const mfaToken = await passwordStep(t.app, u.email, u.password);
    await forgotPassword(t.app, u.email);
    expect((await reset(resetTokenOf(u.email))).statusCode).toBe(204);
    const res = await mfaVerify(t.app, { mfa_token: mfaToken, backup_code: backupCodes[0] });
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('invalid_mfa_token');
  });

  it('an expired token is 400 invalid_token and changes nothing', async () => {
    const u = await registerUser(t.app);
    await forgotPassword(t.app, u.email);
    const token = resetTokenOf(u.email);
    await withSystem(t.database, (tx) =>
      tx
        .updateTable('user_tokens')
        .set({ expires_at: new Date(Date.now() - 1000) })
        .where('token_hash', '=', hashToken(token))
        .execute(),
    );
    const res = await reset(token);
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('invalid_token');
    expect((await loginUser(t.app, u.email, u.password)).statusCode).toBe(200);
  });

  it('a newer request kills the older link', async () => {
    const u = await registerUser(t.app);
    await forgotPassword(t.app, u.email);
    const first = resetTokenOf(u.email);
    await forgotPassword(t.app, u.email);
    const second = resetTokenOf(u.email);
    expect((await reset(first)).statusCode).toBe(400);
    expect((await reset(second)).statusCode).toBe(204);
  });

  it('a password change kills the links issued before it (reset and set-password)', async () => {
    // The user's answer to a suspected compromise must not leave a link (perhaps requested by
    // whoever reads their mailbox) that sets a password of someone else's choosing.
    const u = await registerUser(t.app);
    await forgotPassword(t.app, u.email);
    const link = resetTokenOf(u.email);
    const { token: setLink } = await withSystem(t.database, (tx) =>
      issueUserToken(tx, { userId: u.userId, purpose: 'set_password', ttlMs: 3600_000 }),
    );
    const changed = await changePassword(t.app, bearer(u.access), GOOD_PASSWORD, NEW_PASSWORD);
    expect(changed.statusCode, changed.body).toBe(204);
    for (const token of [link, setLink]) {
      const res = await reset(token, 'the link holder passphrase 66');
      expect(res.statusCode).toBe(400);
      expect(res.json().code).toBe('invalid_token');
    }
    expect((await loginUser(t.app, u.email, NEW_PASSWORD)).statusCode).toBe(200);
  });

  it('password rules apply; a refused password leaves the token usable', async () => {
    const u = await registerUser(t.app);
    await forgotPassword(t.app, u.email);
    const token = resetTokenOf(u.email);
    const weak = await reset(token, 'password');
    expect(weak.statusCode).toBe(400);
    expect(weak.json().code).toBe('weak_password');
    expect(weak.json().errors[0].field).toBe('new_password');
    expect((await reset(token)).statusCode).toBe(204);
  });

  it('concurrent resets with one token: exactly one succeeds', async () => {
    const u = await registerUser(t.app);
    await forgotPassword(t.app, u.email);
    const token = resetTokenOf(u.email);
    const results = await Promise.all([
      reset(token, 'first concurrent passphrase 11'),
      reset(token, 'second concurrent passphrase 22'),
      reset(token, 'third concurrent passphrase 33'),
    ]);
    expect(results.map((r) => r.statusCode).sort()).toEqual([204, 400, 400]);
  });

  it('set_password tokens (admin-created accounts) work through the same route, once', async () => {
    const user = await createUser(t.database, { email: uniqueEmail('created') });
    const { token } = await withSystem(t.database, (tx) =>
      issueUserToken(tx, { userId: user.id, purpose: 'set_password', ttlMs: 3600_000 }),
    );
    const before = mail.sent.length;
    expect((await reset(token)).statusCode).toBe(204);
    expect((await reset(token)).statusCode).toBe(400);
    const row = await withSystem(t.database, (tx) =>
      tx.selectFrom('users').selectAll().where('id', '=', user.id).executeTakeFirstOrThrow(),
    );
    expect(row.password_hash).toMatch(/^\$argon2id\$/);
    expect(row.email_verified_at).toBeInstanceOf(Date);
    // Choosing a first password is not a "your password was reset" event.
    expect(mail.sent.slice(before).filter((m) => m.to === user.email)).toEqual([]);
  });

  it('other purposes (verification, MFA login) never reset a password', async () => {
    const u = await registerUser(t.app);
    const verifyMail = mail.to(u.email, /Confirm your email/).at(-1)!;
    const verifyToken = new URL(linkFrom(verifyMail, '/verify-email?token=')).searchParams.get(
      'token',
    );
    expect((await reset(verifyToken)).statusCode).toBe(400);
    const { token: mfaToken } = await withSystem(t.database, (tx) =>
      issueUserToken(tx, { userId: u.userId, purpose: 'mfa_login', ttlMs: 60_000 }),
    );
    expect((await reset(mfaToken)).statusCode).toBe(400);
  });

  it('a disabled account cannot be reset', async () => {
    const u = await registerUser(t.app);
    await forgotPassword(t.app, u.email);
    const token = resetTokenOf(u.email);
    await withSystem(t.database, (tx) =>
      tx.updateTable('users').set({ status: 'disabled' }).where('id', '=', u.userId).execute(),
    );
    expect((await reset(token)).statusCode).toBe(400);
    const before = mail.to(u.email, RESET_SUBJECT).length;
    expect((await forgotPassword(t.app, u.email)).statusCode).toBe(202);
    expect(mail.to(u.email, RESET_SUBJECT)).toHaveLength(before);
  });

  it('malformed bodies and garbage tokens are 4xx, never a 500', async () => {
    for (const payload of [
      {},
      { token: 'x' },
      { token: 'a'.repeat(43) },
      { token: 'a'.repeat(43), new_password: NEW_PASSWORD, extra: 1 },
      { token: 5, new_password: NEW_PASSWORD },
    ]) {
      const res = await t.app.inject({ method: 'POST', url: '/api/auth/password/reset', payload });
      expect(res.statusCode).toBe(400);
    }
    const noEmail = await t.app.inject({
      method: 'POST',
      url: '/api/auth/password/forgot',
      payload: {},
    });
    expect(noEmail.statusCode).toBe(400);
  });

  it('reset attempts are limited per IP', async () => {
    const strict = await buildTestApp({
      database: t.database,
      deps: { mailer: capturingMailer() },
      env: { RATE_LIMIT_PASSWORD_RESET_IP: '2/900' },
    });
    try {
      const statuses = [];
      for (let i = 0; i < 3; i++) {
        const r = await strict.app.inject({
          method: 'POST',
          url: '/api/auth/password/reset',
          payload: { token: 'b'.repeat(43), new_password: NEW_PASSWORD },
        });
        statuses.push(r.statusCode);
      }
      expect(statuses).toEqual([400, 400, 429]);
    } finally {
      await strict.close();
    }
  });
});
