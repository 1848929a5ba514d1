// Hostile tokens against verify(): every forgery is built with jose itself (or by hand) and must
// be refused with null, never an exception.
import { CompactSign, type CryptoKey, decodeJwt, exportJWK, generateKeyPair, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../http/ids.ts';
import { createMediaTokens } from '../telephony/stream-token.ts';
import { createTestDatabase, type TestDatabase } from '../test/db.ts';
import { type AccessTokenInput, createAccessTokens } from './access-token.ts';
import { ensureSigningKey, type KeyRing, loadKeyRing, rotateSigningKey } from './signing-keys.ts';

const enc = { keys: [{ id: 'k1', key: Buffer.alloc(32, 9) }], activeKeyId: 'k1' };
const ISS = 'http://localhost:8000';
const AUD = 'switchboard';
const TTL = 900;

let database: TestDatabase;
let ring: KeyRing;
const getKeyRing = () => ring;
const input: AccessTokenInput = {
  sub: newId(),
  sid: newId(),
  org: newId(),
  role: 'admin',
  amr: ['pwd'],
};

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const nowSeconds = () => Math.floor(Date.now() / 1000);
const goodHeader = () => ({ alg: 'EdDSA', kid: ring.active.kid, typ: 'at+jwt' });
const goodPayload = (): Record<string, unknown> => ({
  ...input,
  iss: ISS,
  aud: AUD,
  iat: nowSeconds(),
  exp: nowSeconds() + 600,
});

/** Sign any header and payload, however wrong, with any key. */
function forge(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  key: CryptoKey | Uint8Array = ring.active.privateKey,
): Promise<string> {
  return new CompactSign(Buffer.from(JSON.stringify(payload)))
    .setProtectedHeader(header as { alg: string })
    .sign(key);
}

/** Sign with our real key by hand, bypassing jose's own header checks. */
async function signRaw(header: Record<string, unknown>, payload: Record<string, unknown>) {
  const input = `${b64(header)}.${b64(payload)}`;
  const sig = await crypto.subtle.sign('Ed25519', ring.active.privateKey, Buffer.from(input));
  return `${input}.${Buffer.from(sig).toString('base64url')}`;
}

/** Access tokens over the test key ring; `over` replaces any of the options. */
const tokens = (over: Partial<Parameters<typeof createAccessTokens>[0]> = {}) =>
  createAccessTokens({ getKeyRing, issuer: ISS, audience: AUD, ttlSeconds: TTL, ...over });

beforeAll(async () => {
  database = await createTestDatabase();
  await ensureSigningKey(database, enc);
  ring = await loadKeyRing(database, enc, { maxTokenTtlSeconds: TTL });
});
afterAll(() => database.close());

describe('access tokens: the good path', () => {
  it('a token we sign verifies, with the claims, header and lifetime we expect', async () => {
    const at = tokens();
    const { token, expiresIn, claims } = await at.sign(input);
    expect(expiresIn).toBe(TTL);
    expect(claims).toMatchObject({ ...input, iss: ISS, aud: AUD });
    expect(claims.exp - claims.iat).toBe(TTL);
    const [h] = token.split('.');
    expect(JSON.parse(Buffer.from(h!, 'base64url').toString())).toEqual(goodHeader());
    expect(await tokens().verify(token)).toEqual(claims);
  });

  it('passes su and mfa_pending through only as true', async () => {
    const { token } = await tokens().sign({ ...input, su: true, mfa_pending: true });
    expect(await tokens().verify(token)).toMatchObject({ su: true, mfa_pending: true });
    const plain = await tokens().verify((await tokens().sign(input)).token);
    expect(plain).not.toHaveProperty('su');
    expect(plain).not.toHaveProperty('mfa_pending');
  });

  it('refuses to sign claims of the wrong shape', async () => {
    await expect(tokens().sign({ ...input, sub: 'not-a-uuid' })).rejects.toThrow(TypeError);
    await expect(tokens().sign({ ...input, role: 'root' as 'owner' })).rejects.toThrow(TypeError);
  });
});

describe('access tokens: forgeries and misuse all verify to null', () => {
  it('(control) the forging helpers make a valid token when nothing is wrong', async () => {
    expect(await tokens().verify(await forge(goodHeader(), goodPayload()))).toMatchObject(input);
    expect(await tokens().verify(await signRaw(goodHeader(), goodPayload()))).toMatchObject(input);
  });

  it('alg: none (hand-built, with and without a signature part)', async () => {
    const at = tokens();
    for (const alg of ['none', 'None', 'NONE']) {
      const unsigned = `${b64({ alg, typ: 'at+jwt', kid: ring.active.kid })}.${b64(goodPayload())}`;
      expect(await at.verify(`${unsigned}.`)).toBeNull();
      expect(await at.verify(unsigned)).toBeNull();
    }
  });

  it('HS256/HS512 keyed with the public key (raw bytes, JWK JSON, base64url text)', async () => {
    const at = tokens();
    const jwk = ring.jwks.keys[0]!;
    const secrets = [
      Buffer.from(jwk.x, 'base64url'),
      Buffer.from(JSON.stringify(jwk)),
      Buffer.from(jwk.x),
    ];
    for (const secret of secrets) {
      for (const alg of ['HS256', 'HS512']) {
        const t = await forge({ ...goodHeader(), alg }, goodPayload(), secret);
        expect(await at.verify(t)).toBeNull();
      }
    }
  });

  it('RS256 and ES256 signed by an attacker key under our kid', async () => {
    const at = tokens();
    for (const alg of ['RS256', 'ES256', 'PS256']) {
      const { privateKey } = await generateKeyPair(alg);
      expect(
        await at.verify(await forge({ ...goodHeader(), alg }, goodPayload(), privateKey)),
      ).toBeNull();
    }
  });

  it('an Ed25519 key not in the ring, under a known kid, an unknown kid, no kid, or embedded', async () => {
    const at = tokens();
    const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const attackerJwk: JWK = await exportJWK(publicKey);
    const headers = [
      goodHeader(),
      { ...goodHeader(), kid: 'attacker-kid' },
      { alg: 'EdDSA', typ: 'at+jwt' },
      { ...goodHeader(), jwk: attackerJwk },
      { ...goodHeader(), kid: 'attacker-kid', jwk: attackerJwk },
      { ...goodHeader(), jku: 'https://attacker.example/jwks.json' },
    ];
    for (const header of headers) {
      expect(await at.verify(await forge(header, goodPayload(), privateKey))).toBeNull();
    }
    // An unknown kid with our own valid signature is refused too: the ring decides, not the key.
    expect(
      await at.verify(await forge({ ...goodHeader(), kid: 'nope' }, goodPayload())),
    ).toBeNull();
  });

  it('wrong iss, wrong aud, an aud array, missing iss/aud', async () => {
    const at = tokens();
    const cases = [
      { iss: 'https://evil.example' },
      { aud: 'another-service' },
      { aud: [AUD, 'another-service'] },
      { aud: [AUD] },
      { iss: undefined },
      { aud: undefined },
    ];
    for (const change of cases) {
      const t = await forge(goodHeader(), { ...goodPayload(), ...change });
      expect(await at.verify(t), JSON.stringify(change)).toBeNull();
    }
  });

  it('a changed claim (payload re-encoded, signature kept) and a tampered signature', async () => {
    const at = tokens();
    const { token } = await at.sign({ ...input, role: 'member' });
    const [h, , s] = token.split('.') as [string, string, string];
    const promoted = { ...decodeJwt(token), role: 'owner' };
    expect(await at.verify(`${h}.${b64(promoted)}.${s}`)).toBeNull();
    const superuser = { ...decodeJwt(token), su: true };
    expect(await at.verify(`${h}.${b64(superuser)}.${s}`)).toBeNull();
    const i = Math.floor(s.length / 2);
    const badSig = s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    expect(await at.verify(`${h}.${token.split('.')[1]}.${badSig}`)).toBeNull();
    const swappedHeader = b64({ ...goodHeader(), typ: 'JWT' });
    expect(await at.verify(`${swappedHeader}.${token.split('.')[1]}.${s}`)).toBeNull();
  });

  it('expired: an explicit past exp, and a token verified after its lifetime', async () => {
    const at = tokens();
    const past = { ...goodPayload(), iat: nowSeconds() - 1000, exp: nowSeconds() - 100 };
    expect(await at.verify(await forge(goodHeader(), past))).toBeNull();

    let clock = Date.now();
    const clocked = () => tokens({ ttlSeconds: 60, now: () => clock });
    const { token } = await clocked().sign(input);
    clock += 61_000;
    expect(await clocked().verify(token)).toBeNull();
  });

  it('a token issued beyond the configured lifetime (exp far in the future) is refused', async () => {
    const long = { ...goodPayload(), iat: nowSeconds() - TTL - 60, exp: nowSeconds() + 3600 };
    expect(await tokens().verify(await forge(goodHeader(), long))).toBeNull();
    const future = { ...goodPayload(), iat: nowSeconds() + 3600, exp: nowSeconds() + 4000 };
    expect(await tokens().verify(await forge(goodHeader(), future))).toBeNull();
  });

  it('any typ other than at+jwt (so an MFA challenge or other JWT of ours is never an access token)', async () => {
    const at = tokens();
    for (const typ of ['JWT', 'mfa+jwt', 'media+jwt', 'jwt', undefined]) {
      const t = await forge({ ...goodHeader(), typ }, goodPayload());
      expect(await at.verify(t), String(typ)).toBeNull();
    }
  });

  it('a media token signed by the same ring, even one whose audience is ours', async () => {
    const media = createMediaTokens({ getKeyRing, issuer: ISS, ttlSeconds: 120 });
    const token = await media.sign({
      callSid: `CA${'a'.repeat(32)}`,
      orgId: input.org,
      agentId: newId(),
      direction: 'inbound',
      audience: AUD,
    });
    expect(await media.verify(token)).not.toBeNull();
    expect(await tokens().verify(token)).toBeNull();
  });

  it('missing or malformed required claims', async () => {
    const at = tokens();
    const cases: Record<string, unknown>[] = [
      { sid: undefined },
      { org: undefined },
      { sub: undefined },
      { role: undefined },
      { amr: undefined },
      { iat: undefined },
      { exp: undefined },
      { sub: 'admin' },
      { sid: 42 },
      { org: ['x'] },
      { role: 'superadmin' },
      { amr: 'pwd' },
      { amr: [1] },
      { su: 'true' },
      { su: false },
      { mfa_pending: 1 },
      { exp: nowSeconds() + 600.5 },
    ];
    for (const change of cases) {
      const t = await forge(goodHeader(), { ...goodPayload(), ...change });
      expect(await at.verify(t), JSON.stringify(change)).toBeNull();
    }
  });

  it('garbage, non-strings and oversized input, and an unknown critical header', async () => {
    const at = tokens();
    for (const junk of ['', 'a.b.c', '...', 'not a jwt', 'x'.repeat(5000)]) {
      expect(await at.verify(junk)).toBeNull();
    }
    expect(await at.verify(undefined as unknown as string)).toBeNull();
    expect(await at.verify({} as unknown as string)).toBeNull();
    // The hand signer is sound: the same token without `crit` verifies.
    expect(await at.verify(await signRaw(goodHeader(), goodPayload()))).not.toBeNull();
    const header = { ...goodHeader(), crit: ['x-unknown'], 'x-unknown': 1 };
    expect(await at.verify(await signRaw(header, goodPayload()))).toBeNull();
  });

  it('a ring that cannot be read gives null, not an exception', async () => {
    const { token } = await tokens().sign(input);
    const broken = tokens({
      getKeyRing: () => {
        throw new Error('ring not loaded');
      },
    });
    expect(await broken.verify(token)).toBeNull();
  });
});

describe('access tokens: key rotation', () => {
  it('a token signed by a retired but still published key verifies after rotation', async () => {
    const before = await tokens().sign(input);
    const oldKid = ring.active.kid;
    // No publish delay: the key signs at once (staging is covered in key-rotation.security.test.ts).
    await rotateSigningKey(database, enc, { publishDelaySeconds: 0 });
    ring = await loadKeyRing(database, enc, { maxTokenTtlSeconds: TTL });
    expect(ring.active.kid).not.toBe(oldKid);
    expect(await tokens().verify(before.token)).toEqual(before.claims);
    const after = await tokens().sign(input);
    expect(JSON.parse(Buffer.from(after.token.split('.')[0]!, 'base64url').toString()).kid).toBe(
      ring.active.kid,
    );
    expect(await tokens().verify(after.token)).toEqual(after.claims);
  });
});

describe('access tokens: the verified-token cache', () => {
  /** A ring whose kids are all known but whose keys verify nothing: only a cache hit passes. */
  const blindRing = async (): Promise<KeyRing> => {
    const { publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    return {
      ...ring,
      verificationKeys: new Map([...ring.verificationKeys.keys()].map((kid) => [kid, publicKey])),
    };
  };

  it('verifies a signature once, then serves the same claims from the cache', async () => {
    let current = ring;
    const at = tokens({ getKeyRing: () => current });
    const { token, claims } = await at.sign(input);
    const other = (await at.sign({ ...input, sid: newId() })).token;
    expect(await at.verify(token)).toEqual(claims);
    current = await blindRing();
    expect(await at.verify(token)).toEqual(claims); // cache hit: no signature check
    expect(await at.verify(other)).toBeNull(); // miss: the (blind) signature check runs
  });

  it('does not serve an expired cached token', async () => {
    let clock = Date.now();
    const at = tokens({ ttlSeconds: 60, now: () => clock });
    const { token, claims } = await at.sign(input);
    expect(await at.verify(token)).toEqual(claims);
    clock += 30_000;
    expect(await at.verify(token)).toEqual(claims);
    clock = claims.exp * 1000;
    expect(await at.verify(token)).toBeNull();
    clock = claims.exp * 1000 - 1000;
    // Evicted, so it is re-verified from scratch (and is valid again at that earlier time).
    expect(await at.verify(token)).toEqual(claims);
  });

  it('drops a cached token whose key is withdrawn from the ring', async () => {
    let current = ring;
    const at = tokens({ getKeyRing: () => current });
    const { token } = await at.sign(input);
    expect(await at.verify(token)).not.toBeNull();
    const withdrawn = new Map(ring.verificationKeys);
    withdrawn.delete(ring.active.kid);
    current = { ...ring, verificationKeys: withdrawn };
    expect(await at.verify(token)).toBeNull();
  });

  /**
   * A cache of two, three signed tokens, and `blind()`: from then on only what is cached verifies
   * (the ring no longer holds the signing key), which shows what the cache kept.
   */
  async function cacheOfTwo() {
    let current = ring;
    const at = tokens({ getKeyRing: () => current, cacheSize: 2 });
    const a = await at.sign(input);
    const b = await at.sign({ ...input, sid: newId() });
    const c = await at.sign({ ...input, sid: newId() });
    const blind = async () => {
      current = await blindRing();
    };
    return { at, a, b, c, blind };
  }

  it('is bounded and evicts the least recently used token', async () => {
    const { at, a, b, c, blind } = await cacheOfTwo();
    await at.verify(a.token);
    await at.verify(b.token);
    await at.verify(a.token); // a is now the most recently used
    await at.verify(c.token); // evicts b
    await blind();
    expect(await at.verify(a.token)).toEqual(a.claims);
    expect(await at.verify(c.token)).toEqual(c.claims);
    expect(await at.verify(b.token)).toBeNull();
  });

  it('when every cached token was used, keeps the one just verified and evicts the oldest', async () => {
    const { at, a, b, c, blind } = await cacheOfTwo();
    await at.verify(a.token);
    await at.verify(b.token);
    await at.verify(a.token);
    await at.verify(b.token); // both used: each gets one second chance, then a (oldest) goes
    await at.verify(c.token);
    await blind();
    expect(await at.verify(c.token)).toEqual(c.claims);
    expect(await at.verify(b.token)).toEqual(b.claims);
    expect(await at.verify(a.token)).toBeNull();
  });
});
