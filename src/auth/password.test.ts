import { availableParallelism } from 'node:os';
import { describe, expect, it, vi } from 'vitest';
import { normalizePassword } from '../security/password-policy.ts';
import { phcParams } from '../test/argon2.ts';
import type { Argon2Params } from './password.ts';
import {
  DEFAULT_ARGON2,
  dummyVerify,
  hashConcurrency,
  hashPassword,
  limitHashConcurrency,
  needsRehash,
  primeDummyHash,
  verifyPassword,
} from './password.ts';

// Every hash argon2 is asked to verify, in order, and how many of its jobs ran at once (the real
// functions still run: src/test/argon2.ts).
const argon2 = vi.hoisted(() => ({ verified: [] as string[], running: 0, mostAtOnce: 0 }));
vi.mock('@node-rs/argon2', async (original) =>
  (await import('../test/argon2.ts')).recordingArgon2(await original(), argon2),
);

// Cheap parameters keep the functional tests fast; the cost and rehash tests use the defaults.
const FAST: Argon2Params = { memoryCost: 1024, timeCost: 1, parallelism: 1 };

describe('DEFAULT_ARGON2', () => {
  it('is the OWASP argon2id recommendation', () => {
    expect(DEFAULT_ARGON2).toEqual({ memoryCost: 19_456, timeCost: 2, parallelism: 1 });
  });
});

describe('hashPassword / verifyPassword', () => {
  it('produces an argon2id PHC string with the requested parameters and a random salt', async () => {
    const a = await hashPassword('correct horse battery staple', FAST);
    const b = await hashPassword('correct horse battery staple', FAST);
    expect(a).toMatch(/^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);
    expect(a).not.toBe(b);
  });

  it('verifies the right password and refuses a wrong one', async () => {
    const stored = await hashPassword('correct horse battery staple', FAST);
    expect(await verifyPassword(stored, 'correct horse battery staple')).toBe(true);
    expect(await verifyPassword(stored, 'correct horse battery stapler')).toBe(false);
    expect(await verifyPassword(stored, 'Correct horse battery staple')).toBe(false);
    expect(await verifyPassword(stored, '')).toBe(false);
  });

  it('returns false instead of throwing on a malformed or foreign hash', async () => {
    const stored = await hashPassword('correct horse battery staple', FAST);
    for (const bad of [
      '',
      'not a hash',
      '$argon2id$v=19$m=1024,t=1,p=1$',
      stored.slice(0, -5),
      '$2b$10$abcdefghijklmnopqrstuuJ0yJ2F6mJq9wq4mQ8zTqjv1b8S5Zb2e',
    ]) {
      await expect(verifyPassword(bad, 'correct horse battery staple')).resolves.toBe(false);
    }
  });

  it('compares after NFKC: a ligature or full-width spelling matches its plain form', async () => {
    const ligature = await hashPassword('ﬁsh and chips forever', FAST);
    expect(await verifyPassword(ligature, 'fish and chips forever')).toBe(true);
    const fullWidth = await hashPassword('ｐａｓｓｐｈｒａｓｅ１２３', FAST);
    expect(await verifyPassword(fullWidth, 'passphrase123')).toBe(true);
  });

  it('treats composed and decomposed accents as the same password', async () => {
    const composed = 'caf\u00e9 au lait du matin';
    const decomposed = 'cafe\u0301 au lait du matin';
    const stored = await hashPassword(composed, FAST);
    expect(await verifyPassword(stored, decomposed)).toBe(true);
  });

  it('does nothing beyond NFKC: no trimming, no case folding', () => {
    expect(normalizePassword(' Pass ')).toBe(' Pass ');
    expect(normalizePassword('ＡＢＣ')).toBe('ABC');
    expect(normalizePassword('ﬁ')).toBe('fi');
  });
});

describe('needsRehash', () => {
  it('is false for a hash made with the same parameters', async () => {
    const stored = await hashPassword('correct horse battery staple', DEFAULT_ARGON2);
    expect(needsRehash(stored, DEFAULT_ARGON2)).toBe(false);
  });

  it('is true when any parameter differs', async () => {
    const stored = await hashPassword('correct horse battery staple', FAST);
    expect(needsRehash(stored, FAST)).toBe(false);
    expect(needsRehash(stored, { ...FAST, memoryCost: 2048 })).toBe(true);
    expect(needsRehash(stored, { ...FAST, timeCost: 2 })).toBe(true);
    expect(needsRehash(stored, { ...FAST, parallelism: 2 })).toBe(true);
  });

  it('is true for another algorithm, an old version or an unparseable hash', () => {
    const tail =
      'm=1024,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g';
    expect(needsRehash(`$argon2id$v=19$${tail}`, FAST)).toBe(false);
    expect(needsRehash(`$argon2i$v=19$${tail}`, FAST)).toBe(true);
    expect(needsRehash(`$argon2d$v=19$${tail}`, FAST)).toBe(true);
    expect(needsRehash(`$argon2id$v=16$${tail}`, FAST)).toBe(true);
    expect(needsRehash('$2b$10$abcdefghijklmnopqrstuuJ0yJ2F6mJq9wq4mQ8zTqjv1b8S5Zb2e', FAST)).toBe(
      true,
    );
    expect(needsRehash('', FAST)).toBe(true);
  });
});

describe('the argon2 jobs in flight', () => {
  it('is one per core, leaving a thread of the pool free, and at least one', () => {
    expect(hashConcurrency(2, 4)).toBe(2);
    expect(hashConcurrency(8, 4)).toBe(3);
    expect(hashConcurrency(8, 16)).toBe(8);
    expect(hashConcurrency(1, 4)).toBe(1);
    expect(hashConcurrency(4, 1)).toBe(1);
  });

  it('never exceeds it under a burst; every job finishes, failed ones give their slot back', async () => {
    const stored = await hashPassword('correct horse battery staple', FAST);
    argon2.mostAtOnce = 0;
    const burst = await Promise.all([
      ...Array.from({ length: 6 }, () => verifyPassword('not a hash at all', 'x')),
      ...Array.from({ length: 6 }, () => verifyPassword(stored, 'correct horse battery staple')),
      ...Array.from({ length: 4 }, () => hashPassword('another password entirely', FAST)),
    ]);
    expect(burst.slice(0, 6)).toEqual(Array(6).fill(false));
    expect(burst.slice(6, 12)).toEqual(Array(6).fill(true));
    for (const h of burst.slice(12)) expect(h).toMatch(/^\$argon2id\$/);
    expect(argon2.mostAtOnce).toBe(hashConcurrency(availableParallelism(), 4));
    expect(argon2.running).toBe(0);
  });

  it('follows the configured pool: with two threads, one hash at a time', async () => {
    limitHashConcurrency(2);
    try {
      argon2.mostAtOnce = 0;
      const hashes = await Promise.all(
        Array.from({ length: 5 }, () => hashPassword('yet another password here', FAST)),
      );
      expect(new Set(hashes).size).toBe(5);
      expect(argon2.mostAtOnce).toBe(1);
    } finally {
      limitHashConcurrency(4);
    }
  });
});

describe('dummyVerify', () => {
  it('always resolves false, whatever the password', async () => {
    expect(await dummyVerify('correct horse battery staple', FAST)).toBe(false);
    expect(await dummyVerify('', FAST)).toBe(false);
  });

  // What a dummy verification costs is judged by the work it hands to argon2, counted through
  // the pass-through mock above, not by a stopwatch (timing ratios flaked on loaded machines).
  it('runs one real argon2id verification at the given parameters, as a real login does', async () => {
    const stored = await hashPassword('correct horse battery staple', DEFAULT_ARGON2);
    await primeDummyHash(DEFAULT_ARGON2);
    argon2.verified.length = 0;
    await verifyPassword(stored, 'wrong password, long enough');
    await dummyVerify('wrong password, long enough', DEFAULT_ARGON2);
    expect(argon2.verified).toHaveLength(2);
    const [real, dummy] = argon2.verified as [string, string];
    expect(real).toBe(stored);
    // Not the account's hash and not a constant: a hash of its own, at the same cost.
    expect(dummy).not.toBe(stored);
    expect(phcParams(dummy)).toBe('m=19456,t=2,p=1');
    expect(phcParams(dummy)).toBe(phcParams(real));
  });

  it('follows the parameters it is given (it is not a constant-time no-op)', async () => {
    argon2.verified.length = 0;
    await dummyVerify('some password', FAST);
    await dummyVerify('some password', DEFAULT_ARGON2);
    await dummyVerify('some other password', FAST);
    expect(argon2.verified.map(phcParams)).toEqual([
      'm=1024,t=1,p=1',
      'm=19456,t=2,p=1',
      'm=1024,t=1,p=1',
    ]);
    // One dummy hash per parameter set, made once: later calls verify against the same one.
    expect(argon2.verified[2]).toBe(argon2.verified[0]);
  });
});
