// The access-token check answers a token it verified before without a promise (the hot path):
// that answer must still see a logout and a suspension the moment they happen, like the first.
import { describe, expect, it } from 'vitest';
import { appForFile } from '../test/app.ts';
import { bearer, registerUser } from '../test/auth-helpers.ts';
import { checkAccessToken } from './authenticate.ts';

const t = appForFile();

const sidOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()).sid as string;

describe('the access-token check', () => {
  it('answers a token verified before synchronously, and refuses it once its session is revoked', async () => {
    const u = await registerUser(t.app);
    const auth = t.app.auth;
    const first = checkAccessToken(auth, u.access);
    expect(await first).toMatchObject({ ok: true });
    const again = checkAccessToken(auth, u.access);
    expect(again).not.toBeInstanceOf(Promise);
    expect(again).toMatchObject({ ok: true, claims: { sub: u.userId, org: u.orgId } });

    auth.revocation.add([sidOf(u.access)]);
    // The refusal names the session it ended (the socket gate tells a suspension's end apart).
    expect(checkAccessToken(auth, u.access)).toEqual({
      ok: false,
      reason: 'revoked',
      sessionId: sidOf(u.access),
    });
    const res = await t.app.inject({ url: '/api/auth/verify', headers: bearer(u.access) });
    expect(res.statusCode).toBe(401);
  });

  it('refuses a token verified before once its org is suspended, on that same path', async () => {
    const u = await registerUser(t.app);
    const auth = t.app.auth;
    expect(await checkAccessToken(auth, u.access)).toMatchObject({ ok: true });
    auth.suspendedOrgs.suspend([u.orgId]);
    try {
      expect(checkAccessToken(auth, u.access)).toEqual({ ok: false, reason: 'org_suspended' });
      const res = await t.app.inject({ url: '/auth/me', headers: bearer(u.access) });
      expect(res.statusCode).toBe(403);
    } finally {
      await auth.suspendedOrgs.resume([u.orgId]);
    }
  });

  it('still verifies what it has not seen: a forged token is refused, never cached', async () => {
    const u = await registerUser(t.app);
    const [h, p] = u.access.split('.');
    const forged = `${h}.${p}.${'A'.repeat(86)}`;
    expect(checkAccessToken(t.app.auth, forged)).toBeInstanceOf(Promise);
    expect(await checkAccessToken(t.app.auth, forged)).toEqual({ ok: false, reason: 'invalid' });
    expect(checkAccessToken(t.app.auth, forged)).toBeInstanceOf(Promise);
  });
});
