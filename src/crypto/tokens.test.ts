import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { constantTimeEqual, generateToken, hashToken } from './tokens.ts';

describe('generateToken', () => {
  it('is base64url of 32 random bytes by default, different every time', () => {
    const tokens = new Set(Array.from({ length: 1000 }, () => generateToken()));
    expect(tokens.size).toBe(1000);
    for (const t of tokens) {
      expect(t).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(t, 'base64url')).toHaveLength(32);
    }
  });

  it('honours the size and refuses fewer than 128 bits', () => {
    expect(Buffer.from(generateToken(48), 'base64url')).toHaveLength(48);
    expect(() => generateToken(8)).toThrow(RangeError);
    expect(() => generateToken(16.5)).toThrow(RangeError);
  });
});

describe('hashToken', () => {
  it('is SHA-256 hex, deterministic, and differs per token', () => {
    expect(hashToken('abc')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    const t = generateToken();
    expect(hashToken(t)).toBe(createHash('sha256').update(t).digest('hex'));
    expect(hashToken(t)).not.toBe(hashToken(generateToken()));
    expect(hashToken(t)).not.toContain(t);
  });
});

describe('constantTimeEqual', () => {
  it('compares exactly, and answers false on a length mismatch without throwing', () => {
    expect(constantTimeEqual('secret', 'secret')).toBe(true);
    expect(constantTimeEqual('secret', 'secreT')).toBe(false);
    expect(constantTimeEqual('secret', 'secret!')).toBe(false);
    expect(constantTimeEqual('', '')).toBe(true);
    expect(constantTimeEqual('', 'a')).toBe(false);
    // Same string length, different byte length: must not throw inside timingSafeEqual.
    expect(constantTimeEqual('é', 'e')).toBe(false);
    // Same byte length, different string length: compared as bytes.
    expect(constantTimeEqual('ab', 'é')).toBe(false);
  });
});
