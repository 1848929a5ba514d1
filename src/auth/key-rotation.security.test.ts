// Signing-key rotation seen by an agent worker that verifies tokens itself against the JWKS and
// caches the set (jose's createRemoteJWKSet, as the README recommends). A rotated-in key must be
// published before it signs — for as long as such a verifier may hold the set — or the worker
// rejects every fresh token until its cache runs out. A retired key stays published until its
// tokens have expired, then leaves the set. Time is an injected clock: nothing sleeps.
import type { AddressInfo } from 'node:net';
import {
  createRemoteJWKSet,
  customFetch,
  decodeProtectedHeader,
  type FetchImplementation,
  jwtVerify,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_SIGNING_KEY_PUBLISH_DELAY_SECONDS } from '../crypto/signing-key-timing.ts';
import { withSystem } from '../db/tenant.ts';
import { createMediaTokens } from '../telephony/stream-token.ts';
import { buildTestApp, type TestApp } from '../test/app.ts';
import { bearer } from '../test/auth-helpers.ts';
import {
  ADMIN_EMAIL,
  ADMIN_ENV,
  ADMIN_PASSWORD,
  logIn,
  type Person,
  superuser,
  team,
} from '../test/org-helpers.ts';

let clock = Date.now();
const now = () => new Date(clock);
const advance = (seconds: number) => {
  clock += seconds * 1000;
};

let t: TestApp;
let other: TestApp; // a second instance on the same database
let su: Person;
let jwksUrl: URL;
beforeAll(async () => {
  t = await buildTestApp({ env: ADMIN_ENV, deps: { clock: now } });
  other = await buildTestApp({ database: t.database, deps: { clock: now } });
  su = await superuser(t);
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = t.app.server.address() as AddressInfo;
  jwksUrl = new URL(`http://127.0.0.1:${port}/.well-known/jwks.json`);
});
afterAll(async () => {
  await other.close();
  await t.close();
});

/** A worker's verifier: caches the set, refetches at most every 30 s on an unknown kid. */
function remoteVerifier() {
  let fetches = 0;
  const fetchCounting: FetchImplementation = (url, options) => {
    fetches++;
    return fetch(url, options);
  };
  const keys = createRemoteJWKSet(jwksUrl, {
    cacheMaxAge: 300_000,
    cooldownDuration: 30_000,
    [customFetch]: fetchCounting,
  });
  return {
    verify: (token: string) =>
      jwtVerify(token, keys, {
        issuer: t.config.auth.issuer,
        audience: t.config.auth.audience,
        typ: 'at+jwt',
      }),
    fetches: () => fetches,
  };
}

const kidOf = (token: string) => decodeProtectedHeader(token).kid;
const publishedKids = async (app: TestApp['app']) =>
  ((await app.inject({ url: '/.well-known/jwks.json' })).json() as { keys: { kid: string }[] }).keys
    .map((k) => k.kid)
    .sort();
const statuses = async () =>
  Object.fromEntries(
    (
      await withSystem(t.database, (tx) =>
        tx.selectFrom('signing_keys').select(['kid', 'status']).execute(),
      )
    ).map((r) => [r.kid, r.status]),
  );

describe('signing-key rotation and cached JWKS verifiers', () => {
  it('tokens issued right after a rotation verify with a set cached before it; the new key signs only after the publish delay', async () => {
    const a = await team(t);
    const before = remoteVerifier();
    const oldKid = kidOf(a.member.access);
    await before.verify(a.member.access);
    expect(before.fetches()).toBe(1);

    const rotated = await t.app.inject({
      method: 'POST',
      url: '/api/admin/signing-keys/rotate',
      headers: su.headers,
    });
    expect(rotated.statusCode).toBe(200);
    const { kid: newKid, retired_kid, activates_at } = rotated.json();
    expect(retired_kid).toBe(oldKid);
    expect(newKid).not.toBe(oldKid);
    expect(Date.parse(activates_at)).toBe(clock + DEFAULT_SIGNING_KEY_PUBLISH_DELAY_SECONDS * 1000);
    expect(await statuses()).toMatchObject({ [oldKid!]: 'active', [newKid]: 'next' });

    // Staged: published at once (here, and on the other instance at its next reload), not signing.
    expect(await publishedKids(t.app)).toEqual([newKid, oldKid].sort());
    await other.app.auth.reloadKeys(true);
    expect(await publishedKids(other.app)).toEqual([newKid, oldKid].sort());
    for (const app of [t.app, other.app]) {
      const fresh = (await logIn(app, a.member.email)).access;
      expect(kidOf(fresh)).toBe(oldKid);
      // The verifier that cached the set before the rotation accepts it without refetching.
      await expect(before.verify(fresh)).resolves.toBeTruthy();
    }
    expect(before.fetches()).toBe(1);

    // A verifier whose cache was filled while the key was staged.
    const during = remoteVerifier();
    await during.verify(a.member.access);
    expect(during.fetches()).toBe(1);

    advance(DEFAULT_SIGNING_KEY_PUBLISH_DELAY_SECONDS - 1);
    await t.app.auth.reloadKeys(true);
    expect(kidOf((await logIn(t.app, a.member.email)).access)).toBe(oldKid);

    // Stage time reached: every instance signs with the new key once it reloads.
    advance(1);
    for (const app of [t.app, other.app]) {
      await app.auth.reloadKeys(true);
      const fresh = (await logIn(app, a.member.email)).access;
      expect(kidOf(fresh)).toBe(newKid);
      await expect(during.verify(fresh)).resolves.toBeTruthy();
    }
    expect(during.fetches()).toBe(1);
    expect(await statuses()).toMatchObject({ [oldKid!]: 'retired', [newKid]: 'active' });

    // The retired key stays published and verifying while tokens it signed may be valid...
    expect(await publishedKids(t.app)).toContain(oldKid);
    const me = await t.app.inject({ url: '/api/users/me', headers: bearer(a.member.access) });
    expect(me.statusCode).toBe(200);
    advance(t.config.auth.accessTokenTtlSeconds);
    await t.app.auth.reloadKeys(true);
    expect(await publishedKids(t.app)).toContain(oldKid);

    // ...and leaves the set once they cannot be (TTL plus the reload grace).
    advance(5 * 60 + 1);
    await t.app.auth.reloadKeys(true);
    expect(await publishedKids(t.app)).toEqual([newKid]);
    const late = await t.app.inject({ url: '/api/users/me', headers: bearer(a.member.access) });
    expect(late.statusCode).toBe(401);
  });

  it('a second rotation while a key is staged is refused (409), not stacked', async () => {
    // The first test aged the superuser's token's key out of the set: log in again.
    const headers = bearer((await logIn(t.app, ADMIN_EMAIL, ADMIN_PASSWORD)).access);
    const rotate = () =>
      t.app.inject({ method: 'POST', url: '/api/admin/signing-keys/rotate', headers });
    const first = await rotate();
    expect(first.statusCode).toBe(200);
    const second = await rotate();
    expect(second.statusCode).toBe(409);
    expect(second.json().code).toBe('signing_key_rotation_pending');
    expect(second.json().detail).toContain(first.json().kid);
    const staged = Object.entries(await statuses()).filter(([, s]) => s === 'next');
    expect(staged).toEqual([[first.json().kid, 'next']]);
    // Once it signs, the next rotation may stage another.
    advance(DEFAULT_SIGNING_KEY_PUBLISH_DELAY_SECONDS);
    const third = await rotate();
    expect(third.statusCode).toBe(200);
    expect(third.json().retired_kid).toBe(first.json().kid);
  });

  it('each running instance switches at the activation time on its own, without a manual reload', async () => {
    // Real time, so a 1-second stage: the one place this file waits.
    const quick = await buildTestApp({ env: { SIGNING_KEY_PUBLISH_DELAY_SECONDS: '1' } });
    try {
      const before = quick.app.auth.getKeyRing().active.kid;
      const { kid } = await quick.app.auth.rotateSigningKey();
      expect(quick.app.auth.getKeyRing().active.kid).toBe(before);
      expect(quick.app.auth.getKeyRing().next?.kid).toBe(kid);
      await vi.waitFor(() => expect(quick.app.auth.getKeyRing().active.kid).toBe(kid), {
        timeout: 5000,
        interval: 50,
      });
      expect(quick.app.auth.getKeyRing().next).toBeNull();
    } finally {
      await quick.close();
    }
  });
});

describe('a retired key and the media tokens it signed', () => {
  it('stays published until its media tokens have expired, even when they outlive access tokens', async () => {
    // Media tokens may live longer than access tokens (STREAM_TOKEN_TTL_SECONDS up to 3600): a
    // key retired by a rotation must stay in the JWKS until they expire too, or an agent worker
    // refuses a stream Switchboard has just handed out.
    let at = Date.now();
    const app = await buildTestApp({
      env: {
        ACCESS_TOKEN_TTL_SECONDS: '300',
        STREAM_TOKEN_TTL_SECONDS: '3600',
        SIGNING_KEY_PUBLISH_DELAY_SECONDS: '0',
      },
      deps: { clock: () => new Date(at) },
    });
    try {
      const media = createMediaTokens({
        getKeyRing: () => app.app.auth.getKeyRing(),
        issuer: app.config.auth.issuer,
        ttlSeconds: app.config.twilio.streamTokenTtlSeconds,
        now: () => at,
      });
      const token = await media.sign({
        callSid: `CA${'d'.repeat(32)}`,
        orgId: '0190f3c4-0000-7000-8000-000000000001',
        agentId: '0190f3c4-0000-7000-8000-000000000002',
        direction: 'inbound',
        audience: 'wss://agents.example.test/media',
      });
      const oldKid = kidOf(token);
      await app.app.auth.rotateSigningKey();
      expect(app.app.auth.getKeyRing().active.kid).not.toBe(oldKid);

      // Past the access-token window (TTL plus the grace), well inside the media token's life.
      at += (300 + 5 * 60 + 60) * 1000;
      await app.app.auth.reloadKeys(true);
      expect(await publishedKids(app.app)).toContain(oldKid);
      expect(await media.verify(token)).not.toBeNull();

      // Past the media token's window: the key leaves the set.
      at += (3600 + 5 * 60) * 1000;
      await app.app.auth.reloadKeys(true);
      expect(await publishedKids(app.app)).not.toContain(oldKid);
    } finally {
      await app.close();
    }
  });
});
