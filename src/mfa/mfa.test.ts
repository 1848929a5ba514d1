// MFA over HTTP: setup, enable, the login challenge, backup codes, regenerate, disable, status,
// and the audit records and mails each of them leaves.
import { describe, expect, it } from 'vitest';
import { withSystem } from '../db/tenant.ts';
import { bearer, cookiesFrom, loginUser, registerUser } from '../test/auth-helpers.ts';
import {
  claimsOf,
  enrolMfa,
  mailingAppForFile,
  mfaVerify,
  passwordStep,
  totpNow,
  unusedBackupCodes,
} from '../test/mfa-helpers.ts';
import { hashBackupCode } from './backup-codes.ts';

const { t, mail } = mailingAppForFile();

const post = (url: string, access: string, payload?: object) =>
  t.app.inject({ method: 'POST', url, headers: bearer(access), payload });

function auditOf(userId: string) {
  return withSystem(t.database, (tx) =>
    tx
      .selectFrom('audit_logs')
      .selectAll()
      .where('actor_user_id', '=', userId)
      .orderBy('id', 'asc')
      .execute(),
  );
}

function userRow(userId: string) {
  return withSystem(t.database, (tx) =>
    tx.selectFrom('users').selectAll().where('id', '=', userId).executeTakeFirstOrThrow(),
  );
}

describe('setup', () => {
  it('answers a base32 secret, its otpauth URI and a PNG QR code data URL', async () => {
    const u = await registerUser(t.app);
    const res = await post('/api/auth/mfa/setup', u.access);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(Object.keys(body).sort()).toEqual(['otpauth_url', 'qr_code', 'secret']);
    expect(body.secret).toMatch(/^[A-Z2-7]{32}$/);
    const url = new URL(body.otpauth_url);
    expect(url.protocol).toBe('otpauth:');
    expect(url.host).toBe('totp');
    expect(decodeURIComponent(url.pathname)).toBe(`/Switchboard:${u.email}`);
    expect(url.searchParams.get('secret')).toBe(body.secret);
    expect(url.searchParams.get('issuer')).toBe('Switchboard');
    expect(url.searchParams.get('algorithm')).toBe('SHA1');
    expect(url.searchParams.get('digits')).toBe('6');
    expect(url.searchParams.get('period')).toBe('30');
    expect(body.qr_code).toMatch(/^data:image\/png;base64,[A-Za-z0-9+/]+=*$/);
    const png = Buffer.from(body.qr_code.split(',')[1], 'base64');
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
  });

  it('calling it again replaces the pending secret: a code of the first one no longer enables', async () => {
    const u = await registerUser(t.app);
    const first = (await post('/api/auth/mfa/setup', u.access)).json().secret;
    const second = (await post('/api/auth/mfa/setup', u.access)).json().secret;
    expect(second).not.toBe(first);
    const stale = await post('/api/auth/mfa/enable', u.access, { code: totpNow(first) });
    expect(stale.statusCode).toBe(400);
    expect(stale.json().code).toBe('invalid_code');
    const ok = await post('/api/auth/mfa/enable', u.access, { code: totpNow(second) });
    expect(ok.statusCode).toBe(200);
  });

  it('needs a login; refuses while MFA is on (409)', async () => {
    expect((await t.app.inject({ method: 'POST', url: '/api/auth/mfa/setup' })).statusCode).toBe(
      401,
    );
    const u = await registerUser(t.app);
    await enrolMfa(t.app, u);
    const again = await post('/api/auth/mfa/setup', u.access);
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('mfa_already_enabled');
  });
});

describe('enable', () => {
  it('a wrong code is 400 invalid_code and leaves MFA off', async () => {
    const u = await registerUser(t.app);
    const { secret } = (await post('/api/auth/mfa/setup', u.access)).json();
    const wrong = totpNow(secret) === '000000' ? '111111' : '000000';
    const res = await post('/api/auth/mfa/enable', u.access, { code: wrong });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('invalid_code');
    expect((await userRow(u.userId)).mfa_enabled_at).toBeNull();
    const failed = (await auditOf(u.userId)).filter((a) => a.action === 'mfa.enable');
    expect(failed).toMatchObject([{ outcome: 'failure', metadata: { reason: 'invalid_code' } }]);
  });

  it('without setup first is 409 mfa_setup_required; malformed bodies are 400', async () => {
    const u = await registerUser(t.app);
    const res = await post('/api/auth/mfa/enable', u.access, { code: '123456' });
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('mfa_setup_required');
    for (const payload of [{}, { code: 123456 }, { code: '123456', extra: 1 }]) {
      const bad = await post('/api/auth/mfa/enable', u.access, payload);
      expect(bad.statusCode).toBe(400);
      expect(bad.json().code).toBe('validation_failed');
    }
  });

  it('answers 10 distinct backup codes, stores only their hashes, audits and mails', async () => {
    const u = await registerUser(t.app);
    const { secret, backupCodes } = await enrolMfa(t.app, u);
    expect(backupCodes).toHaveLength(10);
    expect(new Set(backupCodes).size).toBe(10);
    for (const c of backupCodes) expect(c).toMatch(/^[a-z2-9]{5}-[a-z2-9]{5}$/);

    const rows = await withSystem(t.database, (tx) =>
      tx.selectFrom('mfa_backup_codes').selectAll().where('user_id', '=', u.userId).execute(),
    );
    expect(rows).toHaveLength(10);
    const stored = JSON.stringify(rows);
    for (const c of backupCodes) {
      expect(stored).not.toContain(c);
      expect(stored).not.toContain(c.replace('-', ''));
    }
    const pepper = t.config.secretKey;
    expect(rows.map((r) => r.code_hash).sort()).toEqual(
      backupCodes.map((c) => hashBackupCode(c, pepper)).sort(),
    );

    const user = await userRow(u.userId);
    expect(user.mfa_enabled_at).toBeInstanceOf(Date);
    expect(user.totp_pending_secret_enc).toBeNull();
    expect(user.totp_secret_enc).toMatch(/^v1\.t1\./);
    expect(user.totp_secret_enc).not.toContain(secret);

    const audit = await auditOf(u.userId);
    expect(audit.find((a) => a.action === 'mfa.enable')).toMatchObject({ outcome: 'success' });
    const trail = JSON.stringify(audit);
    expect(trail).not.toContain(secret);
    for (const c of backupCodes) expect(trail).not.toContain(c);
    expect(mail.to(u.email, /Two-factor authentication was turned on/)).toHaveLength(1);

    const me = await t.app.inject({ url: '/auth/me', headers: bearer(u.access) });
    expect(me.json().mfa_enabled).toBe(true);
  });

  it('the enrolment code cannot log in afterwards (its step is spent)', async () => {
    const u = await registerUser(t.app);
    const setup = (await post('/api/auth/mfa/setup', u.access)).json();
    const code = totpNow(setup.secret);
    expect((await post('/api/auth/mfa/enable', u.access, { code })).statusCode).toBe(200);
    const token = await passwordStep(t.app, u.email, u.password);
    const res = await mfaVerify(t.app, { mfa_token: token, code });
    expect(res.statusCode).toBe(401);
    // Spent at enrolment: the answer says so (wait for the next code), not that it is wrong.
    expect(res.json().code).toBe('mfa_code_reused');
  });
});

describe('login with MFA', () => {
  it('the password step opens no session; verify with TOTP answers tokens, cookies and amr mfa', async () => {
    const u = await registerUser(t.app);
    const { secret } = await enrolMfa(t.app, u);
    const sessionsBefore = await withSystem(t.database, (tx) =>
      tx.selectFrom('sessions').select('id').where('user_id', '=', u.userId).execute(),
    );
    const login = await loginUser(t.app, u.email, u.password);
    expect(login.statusCode).toBe(200);
    expect(login.json()).not.toHaveProperty('access_token');
    expect(cookiesFrom(login)).toEqual({});
    const mfaToken = login.json().mfa_token;
    const sessionsAfter = await withSystem(t.database, (tx) =>
      tx.selectFrom('sessions').select('id').where('user_id', '=', u.userId).execute(),
    );
    expect(sessionsAfter).toHaveLength(sessionsBefore.length);

    const res = await mfaVerify(t.app, { mfa_token: mfaToken, code: totpNow(secret, 1) });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({
      user: { id: u.userId, mfa_enabled: true },
      org: { id: u.orgId },
      role: 'owner',
      token_type: 'bearer',
    });
    expect(Object.keys(cookiesFrom(res)).sort()).toEqual(['sb_access', 'sb_csrf', 'sb_refresh']);
    expect(claimsOf(body.access_token).amr).toEqual(['pwd', 'mfa', 'otp']);
    const me = await t.app.inject({ url: '/auth/me', headers: bearer(body.access_token) });
    expect(me.statusCode).toBe(200);
    expect(me.json().amr).toContain('mfa');

    // The session keeps its methods across refresh.
    const refreshed = await t.app.inject({
      method: 'POST',
      url: '/api/auth/refresh',
      payload: { refresh_token: body.refresh_token },
    });
    expect(refreshed.statusCode).toBe(200);
    expect(claimsOf(refreshed.json().access_token).amr).toContain('mfa');

    const audit = await auditOf(u.userId);
    const logins = audit.filter((a) => a.action === 'auth.login' && a.outcome === 'success');
    expect(logins.at(-1)?.metadata).toEqual({ amr: 'pwd mfa otp' });
  });

  it('a login completed from a new device (user agent + IP) mails a notice; a known one does not', async () => {
    const u = await registerUser(t.app, {}, { 'user-agent': 'Desk/1' });
    const { backupCodes } = await enrolMfa(t.app, u);
    const via = async (ua: string, code: string) => {
      const token = await passwordStep(t.app, u.email, u.password, { 'user-agent': ua });
      const res = await mfaVerify(
        t.app,
        { mfa_token: token, backup_code: code },
        { 'user-agent': ua },
      );
      expect(res.statusCode).toBe(200);
      // The check and its notice run after the answer, as background work.
      await t.app.background.idle();
    };
    await via('Desk/1', backupCodes[0]!);
    expect(mail.to(u.email, /New sign-in/)).toHaveLength(0);
    await via('Travel/2', backupCodes[1]!);
    expect(mail.to(u.email, /New sign-in/)).toHaveLength(1);
    expect(mail.to(u.email, /New sign-in/)[0]!.text).toContain('Travel/2');
  });

  it('the compatibility form logins answer the same challenge', async () => {
    const u = await registerUser(t.app);
    const { secret } = await enrolMfa(t.app, u);
    for (const url of ['/auth/jwt/login', '/auth/cookie/login']) {
      const res = await t.app.inject({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: `username=${encodeURIComponent(u.email)}&password=${encodeURIComponent(u.password)}`,
      });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ mfa_required: true, methods: ['totp', 'backup_code'] });
      expect(res.json()).not.toHaveProperty('access_token');
      expect(cookiesFrom(res)).toEqual({});
    }
    const token = await passwordStep(t.app, u.email, u.password);
    expect(
      (await mfaVerify(t.app, { mfa_token: token, code: totpNow(secret, 1) })).statusCode,
    ).toBe(200);
  });

  it('a backup code logs in once (amr pwd mfa); the same code again is 401', async () => {
    const u = await registerUser(t.app);
    const { backupCodes } = await enrolMfa(t.app, u);
    const code = backupCodes[3]!;
    const first = await mfaVerify(t.app, {
      mfa_token: await passwordStep(t.app, u.email, u.password),
      backup_code: code.toUpperCase().replace('-', ' '),
    });
    expect(first.statusCode).toBe(200);
    expect(claimsOf(first.json().access_token).amr).toEqual(['pwd', 'mfa']);
    const again = await mfaVerify(t.app, {
      mfa_token: await passwordStep(t.app, u.email, u.password),
      backup_code: code,
    });
    expect(again.statusCode).toBe(401);
    expect(again.json().code).toBe('invalid_mfa');
    const status = await t.app.inject({
      url: '/api/auth/mfa',
      headers: bearer(first.json().access_token),
    });
    expect(status.json()).toMatchObject({ enabled: true, backup_codes_remaining: 9 });
  });

  it('a wrong code is 401 invalid_mfa, audited without the code; the token still works after', async () => {
    const u = await registerUser(t.app);
    const { secret } = await enrolMfa(t.app, u);
    const token = await passwordStep(t.app, u.email, u.password);
    const good = totpNow(secret, 1);
    const wrong = good === '999999' ? '999998' : '999999';
    const bad = await mfaVerify(t.app, { mfa_token: token, code: wrong });
    expect(bad.statusCode).toBe(401);
    expect(bad.json().code).toBe('invalid_mfa');
    const failure = (await auditOf(u.userId)).find(
      (a) => a.action === 'auth.login' && a.outcome === 'failure',
    );
    expect(failure?.metadata).toEqual({ reason: 'invalid_mfa_code', method: 'totp' });
    expect(JSON.stringify(await auditOf(u.userId))).not.toContain(wrong);
    expect((await mfaVerify(t.app, { mfa_token: token, code: good })).statusCode).toBe(200);
  });

  it('verify needs exactly one of code and backup_code', async () => {
    const u = await registerUser(t.app);
    const { secret, backupCodes } = await enrolMfa(t.app, u);
    const token = await passwordStep(t.app, u.email, u.password);
    for (const payload of [
      { mfa_token: token },
      { mfa_token: token, code: totpNow(secret, 1), backup_code: backupCodes[0] },
      { mfa_token: token, code: totpNow(secret, 1), extra: true },
      { code: totpNow(secret, 1) },
    ]) {
      const res = await mfaVerify(t.app, payload);
      expect(res.statusCode).toBe(400);
      expect(res.json().code).toBe('validation_failed');
    }
  });
});

describe('backup codes regenerate', () => {
  it('needs a valid code; the fresh set works, the old set is dead; audited and mailed', async () => {
    const u = await registerUser(t.app);
    const { secret, backupCodes: old } = await enrolMfa(t.app, u);
    const wrong = await post('/api/auth/mfa/backup-codes', u.access, { code: 'aaaaa-aaaaa' });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().code).toBe('invalid_code');

    const res = await post('/api/auth/mfa/backup-codes', u.access, { code: totpNow(secret, 1) });
    expect(res.statusCode).toBe(200);
    const fresh: string[] = res.json().backup_codes;
    expect(fresh).toHaveLength(10);
    expect(fresh.filter((c) => old.includes(c))).toEqual([]);

    const oldTry = await mfaVerify(t.app, {
      mfa_token: await passwordStep(t.app, u.email, u.password),
      backup_code: old[0],
    });
    expect(oldTry.statusCode).toBe(401);
    const newTry = await mfaVerify(t.app, {
      mfa_token: await passwordStep(t.app, u.email, u.password),
      backup_code: fresh[0],
    });
    expect(newTry.statusCode).toBe(200);

    const audit = await auditOf(u.userId);
    const regen = audit.filter((a) => a.action === 'mfa.backup_codes_regenerate');
    expect(regen.map((a) => a.outcome)).toEqual(['failure', 'success']);
    const trail = JSON.stringify(audit);
    for (const c of [...old, ...fresh]) expect(trail).not.toContain(c);
    expect(mail.to(u.email, /New backup codes/)).toHaveLength(1);
  });

  it('a backup code may prove the factor too (and is spent by it)', async () => {
    const u = await registerUser(t.app);
    const { backupCodes } = await enrolMfa(t.app, u);
    const res = await post('/api/auth/mfa/backup-codes', u.access, { code: backupCodes[0] });
    expect(res.statusCode).toBe(200);
  });

  it('without MFA is 409 mfa_not_enabled', async () => {
    const u = await registerUser(t.app);
    const res = await post('/api/auth/mfa/backup-codes', u.access, { code: '123456' });
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('mfa_not_enabled');
  });
});

describe('disable', () => {
  it('needs both the password and a code', async () => {
    const u = await registerUser(t.app);
    const { secret } = await enrolMfa(t.app, u);
    const noCode = await post('/api/auth/mfa/disable', u.access, { password: u.password });
    expect(noCode.statusCode).toBe(400);
    const noPassword = await post('/api/auth/mfa/disable', u.access, {
      code: totpNow(secret, 1),
    });
    expect(noPassword.statusCode).toBe(400);

    const wrongPassword = await post('/api/auth/mfa/disable', u.access, {
      password: 'not the password at all',
      code: totpNow(secret, 1),
    });
    expect(wrongPassword.statusCode).toBe(401);
    expect(wrongPassword.json().code).toBe('invalid_credentials');

    const wrongCode = await post('/api/auth/mfa/disable', u.access, {
      password: u.password,
      code: totpNow(secret, 1) === '000000' ? '000001' : '000000',
    });
    expect(wrongCode.statusCode).toBe(400);
    expect(wrongCode.json().code).toBe('invalid_code');
    expect((await userRow(u.userId)).mfa_enabled_at).not.toBeNull();

    const ok = await post('/api/auth/mfa/disable', u.access, {
      password: u.password,
      code: totpNow(secret, 1),
    });
    expect(ok.statusCode).toBe(204);
    const user = await userRow(u.userId);
    expect(user.mfa_enabled_at).toBeNull();
    expect(user.totp_secret_enc).toBeNull();
    const live = await unusedBackupCodes(t.database, u.userId);
    expect(live).toEqual([]);

    // Login is one step again.
    const login = await loginUser(t.app, u.email, u.password);
    expect(login.json()).toHaveProperty('access_token');

    const disables = (await auditOf(u.userId)).filter((a) => a.action === 'mfa.disable');
    expect(disables.map((a) => [a.outcome, a.metadata])).toEqual([
      ['failure', { reason: 'wrong_password' }],
      ['failure', { reason: 'invalid_code' }],
      ['success', { method: 'totp' }],
    ]);
    expect(mail.to(u.email, /turned off/)).toHaveLength(1);

    const again = await post('/api/auth/mfa/disable', u.access, {
      password: u.password,
      code: '123456',
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('mfa_not_enabled');
  });
});

describe('status', () => {
  it('reports off, then on with 10 codes', async () => {
    const u = await registerUser(t.app);
    const get = () => t.app.inject({ url: '/api/auth/mfa', headers: bearer(u.access) });
    expect((await get()).json()).toEqual({
      enabled: false,
      enabled_at: null,
      backup_codes_remaining: 0,
    });
    await enrolMfa(t.app, u);
    expect((await get()).json()).toMatchObject({ enabled: true, backup_codes_remaining: 10 });
  });
});
