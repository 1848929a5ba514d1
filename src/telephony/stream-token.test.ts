import { describe, expect, it } from 'vitest';
import { signStreamToken, verifyStreamToken } from './stream-token.ts';

const key = Buffer.from('stream-token-test-key-0123456789abcdef', 'utf8');
const claims = {
  callSid: `CA${'a'.repeat(32)}`,
  orgId: '0190f3c4-0000-7000-8000-000000000001',
  agentId: '0190f3c4-0000-7000-8000-000000000002',
};
const t0 = Date.UTC(2026, 0, 1, 12, 0, 0);

describe('stream token', () => {
  it('verifies within its lifetime and carries call, org and agent', () => {
    const token = signStreamToken(key, claims, 120, t0);
    expect(verifyStreamToken(key, token, {}, t0 + 60_000)).toEqual({
      ...claims,
      iat: t0 / 1000,
      exp: t0 / 1000 + 120,
    });
    expect(verifyStreamToken(key, token, claims, t0)).not.toBeNull();
  });

  it('expires', () => {
    const token = signStreamToken(key, claims, 120, t0);
    expect(verifyStreamToken(key, token, {}, t0 + 120_000)).toBeNull();
    expect(verifyStreamToken(key, token, {}, t0 + 3_600_000)).toBeNull();
  });

  it('refuses a token issued in the future (beyond clock skew)', () => {
    const token = signStreamToken(key, claims, 120, t0 + 3_600_000);
    expect(verifyStreamToken(key, token, {}, t0)).toBeNull();
  });

  it('is bound to its call, org and agent', () => {
    const token = signStreamToken(key, claims, 120, t0);
    expect(verifyStreamToken(key, token, { callSid: `CA${'b'.repeat(32)}` }, t0)).toBeNull();
    expect(verifyStreamToken(key, token, { orgId: claims.agentId }, t0)).toBeNull();
    expect(verifyStreamToken(key, token, { agentId: claims.orgId }, t0)).toBeNull();
  });

  it('refuses tampered claims, a swapped signature, another key and junk', () => {
    const token = signStreamToken(key, claims, 120, t0);
    const [v, payload, sig] = token.split('.') as [string, string, string];
    const forged = Buffer.from(
      JSON.stringify({
        ...JSON.parse(Buffer.from(payload, 'base64url').toString()),
        agent: 'x',
      }),
    ).toString('base64url');
    expect(verifyStreamToken(key, `${v}.${forged}.${sig}`, {}, t0)).toBeNull();
    const other = signStreamToken(key, { ...claims, callSid: `CA${'c'.repeat(32)}` }, 120, t0);
    expect(verifyStreamToken(key, `${v}.${payload}.${other.split('.')[2]}`, {}, t0)).toBeNull();
    expect(
      verifyStreamToken(Buffer.from('another-key-0123456789abcdef0123456'), token, {}, t0),
    ).toBeNull();
    // A non-canonical base64url signature (an extra character) must not verify either.
    expect(verifyStreamToken(key, `${token}A`, {}, t0)).toBeNull();
    for (const junk of ['', 'v1..', 'v2.a.b', 'a.b', null, 42, {}, 'x'.repeat(5000)]) {
      expect(verifyStreamToken(key, junk, {}, t0)).toBeNull();
    }
  });

  it('refuses a correctly signed payload of another type', async () => {
    const { createHmac } = await import('node:crypto');
    const derived = createHmac('sha256', key).update('switchboard stream-token key v1').digest();
    const payload = Buffer.from(
      JSON.stringify({
        typ: 'access',
        call: claims.callSid,
        org: claims.orgId,
        agent: claims.agentId,
        iat: t0 / 1000,
        exp: t0 / 1000 + 60,
      }),
    ).toString('base64url');
    const sig = createHmac('sha256', derived).update(`v1.${payload}`).digest('base64url');
    expect(verifyStreamToken(key, `v1.${payload}.${sig}`, {}, t0)).toBeNull();
  });
});
