// After a signing key is compromised: `?compromised=true` (or `keys:rotate --compromised`)
// must stop the stolen key at once, not let it verify whatever its holder mints until its tokens
// would have expired. A token forged with the stolen key (any user, role, superuser) is refused
// from then on, on this instance at once and on another at its key reload; so are the old key's
// genuine tokens, cached verifications included; refresh tokens carry on.
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withSystem } from '../db/tenant.ts';
import { buildTestApp, type TestApp } from '../test/app.ts';
import { bearer, registerUser } from '../test/auth-helpers.ts';
import { ADMIN_ENV, type Person, superuser } from '../test/org-helpers.ts';

let t: TestApp;
let other: TestApp; // a second instance on the same database
let su: Person;
beforeAll(async () => {
  t = await buildTestApp({ env: ADMIN_ENV });
  other = await buildTestApp({ database: t.database });
  su = await superuser(t);
});
afterAll(async () => {
  await other.close();
  await t.close();
});

const rotate = (query = '') =>
  t.app.inject({
    method: 'POST',
    url: `/api/admin/signing-keys/rotate${query}`,
    headers: su.headers,
  });

const publishedKids = async (app: TestApp['app']) =>
  (
    (await app.inject({ url: '/.well-known/jwks.json' })).json() as { keys: { kid: string }[] }
  ).keys.map((k) => k.kid);

describe('a compromise rotation', () => {
  it('withdraws every other key at once: forged and genuine tokens of the stolen key are refused', async () => {
    const u = await registerUser(t.app);
    const stolen = t.app.auth.getKeyRing().active;
    const forge = () => {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({
        sub: u.userId,
        sid: '0190a0a0-0000-7000-8000-00000000abcd',
        org: u.orgId,
        role: 'owner',
        amr: ['pwd', 'mfa', 'otp'],
        su: true,
      })
        .setProtectedHeader({ alg: 'EdDSA', kid: stolen.kid, typ: 'at+jwt' })
        .setIssuer(t.config.auth.issuer)
        .setAudience(t.config.auth.audience)
        .setIssuedAt(now)
        .setExpirationTime(now + 600)
        .sign(stolen.privateKey);
    };
    // Before: the stolen key's tokens pass (a genuine one verified, hence cached, too).
    const verify = (app: TestApp['app'], token: string) =>
      app.inject({ url: '/api/auth/verify', headers: bearer(token) });
    expect((await verify(t.app, await forge())).statusCode).toBe(200);
    expect((await verify(t.app, u.access)).statusCode).toBe(200);
    expect((await verify(other.app, u.access)).statusCode).toBe(200);

    // An ordinary rotation stages a key and keeps the old one verifying (a staged key is
    // withdrawn by the compromise rotation that follows, not stacked or refused).
    const staged = await rotate();
    expect(staged.statusCode, staged.body).toBe(200);
    expect(staged.json().withdrawn_kids).toEqual([]);

    const res = await rotate('?compromised=true');
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.retired_kid).toBe(stolen.kid);
    expect(body.withdrawn_kids).toEqual(expect.arrayContaining([stolen.kid, staged.json().kid]));
    expect(new Date(body.activates_at).getTime()).toBeLessThanOrEqual(Date.now() + 1000);

    // This instance: at once.
    expect(t.app.auth.getKeyRing().active.kid).toBe(body.kid);
    expect(await publishedKids(t.app)).toEqual([body.kid]);
    expect((await verify(t.app, await forge())).statusCode).toBe(401);
    expect((await verify(t.app, u.access)).statusCode).toBe(401);
    // Another instance: at its key reload (every 30 s; forced here).
    await other.app.auth.reloadKeys(true);
    expect((await verify(other.app, u.access)).statusCode).toBe(401);
    expect(await publishedKids(other.app)).toEqual([body.kid]);

    // The session itself carries on: its refresh token answers tokens of the new key.
    const refreshed = await t.app.inject({
      method: 'POST',
      url: '/api/auth/refresh',
      payload: { refresh_token: u.refresh },
    });
    expect(refreshed.statusCode, refreshed.body).toBe(200);
    expect((await verify(t.app, refreshed.json().access_token)).statusCode).toBe(200);

    // Audited, with what was withdrawn.
    const audit = await withSystem(t.database, (tx) =>
      tx
        .selectFrom('audit_logs')
        .selectAll()
        .where('action', '=', 'signing_key.rotate')
        .where('target_id', '=', body.kid)
        .executeTakeFirstOrThrow(),
    );
    expect(audit.metadata).toMatchObject({ compromised: true });
  });

  it('refuses anything but a boolean flag (400), and stays a superuser act (403)', async () => {
    expect((await rotate('?compromised=yes')).statusCode).toBe(400);
    expect((await rotate('?compromised=true&extra=1')).statusCode).toBe(400);
    const u = await registerUser(t.app);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/admin/signing-keys/rotate?compromised=true',
      headers: bearer(u.access),
    });
    expect(res.statusCode).toBe(403);
  });
});
