// The media token (TwiML <Stream> parameter): an EdDSA JWT of the access-token key ring with
// `typ: media+jwt`, verifiable with the public JWKS alone, bound to its call (sub), agent worker
// (aud), org and agent, and never interchangeable with an access token.
import {
  type CryptoKey,
  calculateJwkThumbprint,
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
} from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { createAccessTokens } from '../auth/access-token.ts';
import type { KeyRing, PublicJwk } from '../auth/signing-keys.ts';
import { createMediaTokens, MEDIA_TOKEN_TYPE } from './stream-token.ts';

const ISS = 'http://localhost:8000';
const TTL = 120;
const STREAM_URL = 'wss://agents.example.test/stream?tenant=a';
const input = {
  callSid: `CA${'a'.repeat(32)}`,
  orgId: '0190f3c4-0000-7000-8000-000000000001',
  agentId: '0190f3c4-0000-7000-8000-000000000002',
  direction: 'inbound' as const,
  audience: STREAM_URL,
};
const t0 = Date.UTC(2026, 0, 1, 12, 0, 0);

async function newKey() {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const { x } = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: x! });
  const jwk: PublicJwk = { kty: 'OKP', crv: 'Ed25519', x: x!, kid, alg: 'EdDSA', use: 'sig' };
  return { kid, privateKey, publicKey, jwk };
}

let ring: KeyRing;
let other: Awaited<ReturnType<typeof newKey>>;
const getKeyRing = () => ring;
const media = (now = () => t0) =>
  createMediaTokens({ getKeyRing, issuer: ISS, ttlSeconds: TTL, now });

beforeAll(async () => {
  const k = await newKey();
  other = await newKey();
  ring = {
    active: { kid: k.kid, privateKey: k.privateKey as CryptoKey },
    next: null,
    verificationKeys: new Map([[k.kid, k.publicKey as CryptoKey]]),
    jwks: { keys: [k.jwk] },
  };
});

describe('media token', () => {
  it('is a media+jwt signed by the active key, with the claims a worker checks', async () => {
    const token = await media().sign(input);
    expect(decodeProtectedHeader(token)).toEqual({
      alg: 'EdDSA',
      kid: ring.active.kid,
      typ: MEDIA_TOKEN_TYPE,
    });
    const payload = decodeJwt(token);
    expect(payload).toEqual({
      iss: ISS,
      aud: STREAM_URL,
      sub: input.callSid,
      org: input.orgId,
      agent: input.agentId,
      call_direction: 'inbound',
      jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
      iat: t0 / 1000,
      exp: t0 / 1000 + TTL,
    });
    // A second token for the same call is a different token (its own jti).
    expect(decodeJwt(await media().sign(input)).jti).not.toBe(payload.jti);
  });

  it('verifies with the public JWKS alone, as an agent worker does', async () => {
    const token = await media().sign(input);
    const { payload } = await jwtVerify(token, createLocalJWKSet(ring.jwks), {
      typ: 'media+jwt',
      issuer: ISS,
      audience: STREAM_URL,
      algorithms: ['EdDSA'],
      currentDate: new Date(t0 + 1000),
    });
    expect(payload.sub).toBe(input.callSid);
  });

  it('verifies within its lifetime, bound to its call and audience', async () => {
    const token = await media().sign(input);
    const later = media(() => t0 + 60_000);
    expect(
      await later.verify(token, { audience: STREAM_URL, callSid: input.callSid }),
    ).toMatchObject({ sub: input.callSid, org: input.orgId, agent: input.agentId });
    expect(await later.verify(token, { callSid: `CA${'b'.repeat(32)}` })).toBeNull();
    expect(await later.verify(token, { audience: 'wss://other.example.test/stream' })).toBeNull();
  });

  it('expires at exp, and a token issued in the future is refused', async () => {
    const token = await media().sign(input);
    expect(await media(() => t0 + (TTL + 5) * 1000).verify(token)).toBeNull();
    expect(await media(() => t0 + 3_600_000).verify(token)).toBeNull();
    const future = await media(() => t0 + 3_600_000).sign(input);
    expect(await media().verify(future)).toBeNull();
  });

  it('refuses an access token signed by the same ring', async () => {
    const at = createAccessTokens({
      getKeyRing,
      issuer: ISS,
      audience: STREAM_URL,
      ttlSeconds: 900,
    });
    const { token } = await at.sign({
      sub: input.orgId,
      sid: input.agentId,
      org: input.orgId,
      role: 'owner',
      amr: ['pwd'],
    });
    expect(
      await createMediaTokens({ getKeyRing, issuer: ISS, ttlSeconds: TTL }).verify(token),
    ).toBeNull();
  });

  it('refuses media claims under any other typ, another key, tampering and junk', async () => {
    const claims = decodeJwt(await media().sign(input));
    const signAs = (typ: string | undefined, key = ring.active.privateKey, kid = ring.active.kid) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'EdDSA', kid, ...(typ ? { typ } : {}) })
        .sign(key);
    // Control: the same claims under media+jwt do verify.
    expect(await media().verify(await signAs('media+jwt'))).not.toBeNull();
    for (const typ of ['at+jwt', 'JWT', 'mfa+jwt', undefined]) {
      expect(await media().verify(await signAs(typ)), String(typ)).toBeNull();
    }
    // A key outside the ring, named by our kid or its own.
    expect(
      await media().verify(await signAs('media+jwt', other.privateKey as CryptoKey)),
    ).toBeNull();
    expect(
      await media().verify(await signAs('media+jwt', other.privateKey as CryptoKey, other.kid)),
    ).toBeNull();

    const token = await media().sign(input);
    const [h, p, s] = token.split('.') as [string, string, string];
    const forged = Buffer.from(JSON.stringify({ ...claims, sub: `CA${'c'.repeat(32)}` })).toString(
      'base64url',
    );
    expect(await media().verify(`${h}.${forged}.${s}`)).toBeNull();
    const flipped = `${s.slice(0, -2)}${s.endsWith('AA') ? 'BB' : 'AA'}`;
    expect(await media().verify(`${h}.${p}.${flipped}`)).toBeNull();
    const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'media+jwt' })).toString(
      'base64url',
    );
    expect(await media().verify(`${none}.${p}.`)).toBeNull();
    for (const junk of ['', 'a.b', 'a.b.c', null, 42, {}, 'x'.repeat(5000)]) {
      expect(await media().verify(junk)).toBeNull();
    }
  });

  it('refuses a lifetime longer than STREAM_TOKEN_TTL_SECONDS and claims out of shape', async () => {
    const claims = decodeJwt(await media().sign(input));
    const sign = (over: Record<string, unknown>) =>
      new SignJWT({ ...claims, ...over })
        .setProtectedHeader({ alg: 'EdDSA', kid: ring.active.kid, typ: 'media+jwt' })
        .sign(ring.active.privateKey);
    expect(await media().verify(await sign({}))).not.toBeNull();
    for (const over of [
      { exp: t0 / 1000 + TTL * 10 },
      { sub: 'not-a-call-sid' },
      { org: 'x' },
      { agent: undefined },
      { call_direction: 'sideways' },
      { jti: undefined },
      { aud: [STREAM_URL, 'another'] },
      { iss: 'https://evil.example.test' },
    ]) {
      expect(await media().verify(await sign(over)), JSON.stringify(over)).toBeNull();
    }
  });
});
