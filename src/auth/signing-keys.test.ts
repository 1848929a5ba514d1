// The signing key store against a real database (PGlite, and PostgreSQL in CI).
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify from 'fastify';
import { exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT } from 'jose';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decryptSecret } from '../crypto/encryption.ts';
import { withSystem } from '../db/tenant.ts';
import { Problem } from '../http/schemas.ts';
import { createTestDatabase, type TestDatabase } from '../test/db.ts';
import { jwksRoutes } from './jwks.routes.ts';
import {
  ensureSigningKey,
  type KeyRing,
  loadKeyRing,
  rotateSigningKey,
  SigningKeyUndecryptableError,
} from './signing-keys.ts';

const enc = { keys: [{ id: 'k1', key: Buffer.alloc(32, 3) }], activeKeyId: 'k1' };
const TTL = 900;

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.close());

const allKeys = () =>
  withSystem(database, (tx) =>
    tx.selectFrom('signing_keys').selectAll().orderBy('created_at').execute(),
  );
const activeKeys = async () => (await allKeys()).filter((k) => k.status === 'active');
const ring = () => loadKeyRing(database, enc, { maxTokenTtlSeconds: TTL });

async function signWith(r: KeyRing): Promise<string> {
  return new SignJWT({ hello: 'world' })
    .setProtectedHeader({ alg: 'EdDSA', kid: r.active.kid })
    .sign(r.active.privateKey);
}

describe('signing keys', () => {
  it('refuses to load a ring before any key exists', async () => {
    await expect(ring()).rejects.toThrow(/no active signing key/);
  });

  it('ensureSigningKey is concurrency-safe: 5 parallel calls leave exactly one active key', async () => {
    await Promise.all(Array.from({ length: 5 }, () => ensureSigningKey(database, enc)));
    const keys = await allKeys();
    expect(keys).toHaveLength(1);
    expect(keys[0]!.status).toBe('active');
    expect(keys[0]!.algorithm).toBe('EdDSA');
  });

  it('ensureSigningKey is idempotent', async () => {
    const [before] = await activeKeys();
    await ensureSigningKey(database, enc);
    await ensureSigningKey(database, enc);
    expect(await allKeys()).toEqual([before]);
  });

  it('stores the private key encrypted, bound to its kid, and publishes only the public half', async () => {
    const [row] = await activeKeys();
    const sealed = JSON.parse(
      decryptSecret(row!.private_key_enc, enc, `signing-key:${row!.kid}`).toString(),
    ) as { d: string; x: string };
    expect(sealed.d).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(row!.private_key_enc).toMatch(/^v1\.k1\./);
    expect(row!.private_key_enc).not.toContain(sealed.d);
    expect(row!.private_key_enc).not.toContain(Buffer.from(sealed.d, 'base64url').toString('hex'));
    expect(JSON.stringify(row!.public_jwk)).not.toContain(sealed.d);
    expect(() => decryptSecret(row!.private_key_enc, enc, 'signing-key:other')).toThrow();

    const r = await ring();
    expect(r.active.kid).toBe(row!.kid);
    expect(r.jwks.keys).toEqual([
      { kty: 'OKP', crv: 'Ed25519', x: sealed.x, kid: row!.kid, alg: 'EdDSA', use: 'sig' },
    ]);
    // The published key verifies what the active private key signs.
    const token = await signWith(r);
    const publicKey = await importJWK(r.jwks.keys[0]!, 'EdDSA');
    await expect(jwtVerify(token, publicKey)).resolves.toBeTruthy();
    expect(r.active.privateKey.extractable).toBe(false);
  });

  it('rotation stages a new key: published at once, signing only from activates_at; the old one keeps verifying', async () => {
    const before = await ring();
    expect(before.next).toBeNull();
    const oldToken = await signWith(before);
    const start = Date.now();
    const clock = (offsetSeconds: number) => () => new Date(start + offsetSeconds * 1000);
    const { kid, retiredKid, activatesAt } = await rotateSigningKey(database, enc, {
      publishDelaySeconds: 330,
      clock: clock(0),
    });
    expect(retiredKid).toBe(before.active.kid);
    expect(kid).not.toBe(before.active.kid);
    expect(activatesAt.getTime()).toBe(start + 330_000);

    // Staged: published and verifying, not signing; nothing else changed.
    const staged = await ring();
    expect(staged.active.kid).toBe(before.active.kid);
    expect(staged.next).toMatchObject({ kid, activatesAt });
    expect(staged.jwks.keys.map((k) => k.kid)).toEqual([before.active.kid, kid]);
    expect(staged.verificationKeys.has(kid)).toBe(true);
    let keys = await allKeys();
    expect(keys.find((k) => k.kid === kid)!.status).toBe('next');
    expect(keys.find((k) => k.kid === before.active.kid)!.status).toBe('active');
    const early = await loadKeyRing(database, enc, { maxTokenTtlSeconds: TTL, clock: clock(329) });
    expect(early.active.kid).toBe(before.active.kid);
    expect(early.next?.activatesInMs).toBe(1000);

    // At activates_at the loading instance promotes it and retires the previous key.
    const after = await loadKeyRing(database, enc, { maxTokenTtlSeconds: TTL, clock: clock(330) });
    expect(after.active.kid).toBe(kid);
    expect(after.next).toBeNull();
    keys = await allKeys();
    expect(keys.filter((k) => k.status === 'active').map((k) => k.kid)).toEqual([kid]);
    const old = keys.find((k) => k.kid === before.active.kid)!;
    expect(old.status).toBe('retired');
    expect(old.retired_at?.getTime()).toBe(start + 330_000);
    expect(after.jwks.keys.map((k) => k.kid)).toEqual([kid, before.active.kid]);
    const oldKey = after.verificationKeys.get(before.active.kid)!;
    await expect(jwtVerify(oldToken, oldKey)).resolves.toBeTruthy();
  });

  it('concurrent rotations stage one key; the others are refused while it waits', async () => {
    const results = await Promise.allSettled([
      rotateSigningKey(database, enc, { publishDelaySeconds: 300 }),
      rotateSigningKey(database, enc, { publishDelaySeconds: 300 }),
      rotateSigningKey(database, enc, { publishDelaySeconds: 300 }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results.filter((r) => r.status === 'rejected')) {
      expect((r as PromiseRejectedResult).reason).toMatchObject({
        code: 'signing_key_rotation_pending',
      });
    }
    expect((await allKeys()).filter((k) => k.status === 'next')).toHaveLength(1);
    expect(await activeKeys()).toHaveLength(1);
  });

  it('with no publish delay (emergency) concurrent rotations each succeed and leave one active key', async () => {
    // The staged key from the test above is due by now + 300 s.
    await loadKeyRing(database, enc, {
      maxTokenTtlSeconds: TTL,
      clock: () => new Date(Date.now() + 301_000),
    });
    const results = await Promise.all([
      rotateSigningKey(database, enc, { publishDelaySeconds: 0 }),
      rotateSigningKey(database, enc, { publishDelaySeconds: 0 }),
      rotateSigningKey(database, enc, { publishDelaySeconds: 0 }),
    ]);
    expect(new Set(results.map((r) => r.kid)).size).toBe(3);
    expect(await activeKeys()).toHaveLength(1);
    expect((await allKeys()).filter((k) => k.status === 'next')).toHaveLength(0);
    expect((await ring()).active.kid).toBe((await activeKeys())[0]!.kid);
  });

  it('stops publishing a key once its tokens can no longer be valid', async () => {
    const r = await ring();
    const [first] = await allKeys();
    expect(r.verificationKeys.has(first!.kid)).toBe(true);
    // Retired longer ago than the token lifetime plus the 5-minute grace.
    await withSystem(database, (tx) =>
      tx
        .updateTable('signing_keys')
        .set({ retired_at: sql<Date>`now() - ${TTL + 301}::int * interval '1 second'` })
        .where('kid', '=', first!.kid)
        .execute(),
    );
    const later = await ring();
    expect(later.verificationKeys.has(first!.kid)).toBe(false);
    expect(later.jwks.keys.map((k) => k.kid)).not.toContain(first!.kid);
    expect(later.verificationKeys.size).toBe(later.jwks.keys.length);
  });

  it('refuses a key whose stored public key was swapped for an attacker key', async () => {
    const [, retired] = await allKeys();
    const { publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const attacker = await exportJWK(publicKey);
    const original = retired!.public_jwk;
    await withSystem(database, (tx) =>
      tx
        .updateTable('signing_keys')
        .set({ public_jwk: JSON.stringify(attacker) })
        .where('kid', '=', retired!.kid)
        .execute(),
    );
    await expect(ring()).rejects.toThrow(/does not match/);
    await withSystem(database, (tx) =>
      tx
        .updateTable('signing_keys')
        .set({ public_jwk: JSON.stringify(original) })
        .where('kid', '=', retired!.kid)
        .execute(),
    );
    await expect(ring()).resolves.toBeTruthy();
  });

  it('fails to load the ring without the encryption key that sealed it', async () => {
    const other = { keys: [{ id: 'k2', key: Buffer.alloc(32, 4) }], activeKeyId: 'k2' };
    const err = await loadKeyRing(database, other, { maxTokenTtlSeconds: TTL }).catch((e) => e);
    expect(err).toBeInstanceOf(SigningKeyUndecryptableError);
    expect(err.message).toMatch(
      /sealed under encryption key id "k1", which is not in this ENCRYPTION_KEYS/,
    );
    // The same id with another key: named as such.
    const sameId = { keys: [{ id: 'k1', key: Buffer.alloc(32, 4) }], activeKeyId: 'k1' };
    const err2 = await loadKeyRing(database, sameId, { maxTokenTtlSeconds: TTL }).catch((e) => e);
    expect(err2).toBeInstanceOf(SigningKeyUndecryptableError);
    expect(err2.message).toMatch(/"k1", which this ENCRYPTION_KEYS holds with another value/);
  });
});

describe('rotation on a database without keys', () => {
  it('makes the new key active at once: no verifier can have cached a set yet', async () => {
    const empty = await createTestDatabase();
    try {
      const r = await rotateSigningKey(empty, enc, { publishDelaySeconds: 330 });
      expect(r.retiredKid).toBeNull();
      const loaded = await loadKeyRing(empty, enc, { maxTokenTtlSeconds: TTL });
      expect(loaded.active.kid).toBe(r.kid);
      expect(loaded.next).toBeNull();
    } finally {
      await empty.close();
    }
  });
});

describe('GET /.well-known/jwks.json', () => {
  it('serves the public keys with a cache header and never a private member', async () => {
    const r = await ring();
    // A ring that somehow carried a private member: the response schema must drop it.
    const leaky: KeyRing = {
      ...r,
      jwks: { keys: r.jwks.keys.map((k) => ({ ...k, d: 'PRIVATE' })) },
    };
    const app = Fastify().withTypeProvider<TypeBoxTypeProvider>();
    // The route declares its problem answers by reference, as every route does (src/app.ts adds it).
    app.addSchema(Problem);
    await app.register(jwksRoutes, { getKeyRing: () => leaky });
    try {
      const res = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
      expect(res.statusCode).toBe(200);
      expect(res.headers['cache-control']).toBe('public, max-age=300');
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      const body = res.json() as { keys: Record<string, unknown>[] };
      expect(body).toEqual({ keys: r.jwks.keys });
      expect(res.body).not.toContain('PRIVATE');
      for (const k of body.keys) {
        expect(Object.keys(k).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x']);
      }
    } finally {
      await app.close();
    }
  });
});
