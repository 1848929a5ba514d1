import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  BACKUP_CODE_ALPHABET,
  BACKUP_CODE_LENGTH,
  findMatchingBackupCode,
  generateBackupCodes,
  hashBackupCode,
  normalizeBackupCode,
  verifyBackupCode,
} from './backup-codes.ts';

const pepper = randomBytes(32);

describe('generateBackupCodes', () => {
  it('returns 10 distinct codes by default', () => {
    const codes = generateBackupCodes();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    expect(generateBackupCodes(3)).toHaveLength(3);
  });

  it('formats codes as xxxxx-xxxxx from the unambiguous alphabet', () => {
    for (const code of generateBackupCodes(50)) {
      expect(code).toMatch(
        /^[23456789abcdefghjkmnpqrstuvwxyz]{5}-[23456789abcdefghjkmnpqrstuvwxyz]{5}$/,
      );
      expect(code).not.toMatch(/[01oOlIi]/);
    }
  });

  it('has at least 40 bits of entropy per code', () => {
    expect(new Set(BACKUP_CODE_ALPHABET).size).toBe(BACKUP_CODE_ALPHABET.length);
    expect(BACKUP_CODE_ALPHABET).not.toMatch(/[01oOlIi]/);
    expect(BACKUP_CODE_ALPHABET.length ** BACKUP_CODE_LENGTH).toBeGreaterThanOrEqual(2 ** 40);
    expect(normalizeBackupCode(generateBackupCodes(1)[0]!)).toHaveLength(BACKUP_CODE_LENGTH);
  });

  it('draws from the whole alphabet', () => {
    // 10,000 characters over 31 symbols: a symbol never drawn means a broken generator.
    const seen = new Set(generateBackupCodes(1000).join('').replaceAll('-', ''));
    expect([...seen].sort().join('')).toBe(BACKUP_CODE_ALPHABET);
  });
});

describe('normalizeBackupCode', () => {
  it('lower-cases and strips spaces and dashes', () => {
    expect(normalizeBackupCode('ABCDE-FGHJK')).toBe('abcdefghjk');
    expect(normalizeBackupCode(' abcde fghjk ')).toBe('abcdefghjk');
    expect(normalizeBackupCode('abc de–fg hjk')).toBe('abcdefghjk');
  });
});

describe('hashBackupCode / verifyBackupCode', () => {
  const [code] = generateBackupCodes(1) as [string];
  const hash = hashBackupCode(code, pepper);

  it('stores a 256-bit hex digest, never the code', () => {
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).not.toContain(normalizeBackupCode(code));
  });

  it('verifies the code, also upper-cased, spaced or without its dash', () => {
    expect(verifyBackupCode(code, hash, pepper)).toBe(true);
    expect(verifyBackupCode(code.toUpperCase(), hash, pepper)).toBe(true);
    expect(verifyBackupCode(code.replace('-', ' '), hash, pepper)).toBe(true);
    expect(verifyBackupCode(code.replace('-', ''), hash, pepper)).toBe(true);
  });

  it('rejects another code, a malformed one, another pepper and a malformed hash', () => {
    const [other] = generateBackupCodes(1) as [string];
    expect(verifyBackupCode(other, hash, pepper)).toBe(false);
    expect(verifyBackupCode(code.slice(0, -1), hash, pepper)).toBe(false);
    expect(verifyBackupCode('', hash, pepper)).toBe(false);
    expect(verifyBackupCode(code, hash, randomBytes(32))).toBe(false);
    expect(verifyBackupCode(code, hash.slice(0, 32), pepper)).toBe(false);
    expect(verifyBackupCode(code, '', pepper)).toBe(false);
  });

  it('refuses a pepper too short to be a secret', () => {
    expect(() => hashBackupCode(code, Buffer.alloc(0))).toThrow(TypeError);
    expect(() => hashBackupCode(code, randomBytes(16))).toThrow(TypeError);
  });
});

describe('findMatchingBackupCode', () => {
  const codes = generateBackupCodes();
  const stored = codes.map((code, i) => ({ id: `id-${i}`, hash: hashBackupCode(code, pepper) }));

  it('returns the id of the matching code', () => {
    expect(findMatchingBackupCode(codes[3]!, stored, pepper)).toBe('id-3');
    expect(findMatchingBackupCode(codes[9]!.toUpperCase(), stored, pepper)).toBe('id-9');
  });

  it('returns null for a wrong or malformed code', () => {
    let wrong = generateBackupCodes(1)[0]!;
    while (codes.includes(wrong)) wrong = generateBackupCodes(1)[0]!;
    expect(findMatchingBackupCode(wrong, stored, pepper)).toBeNull();
    expect(findMatchingBackupCode('not a code', stored, pepper)).toBeNull();
    expect(findMatchingBackupCode('', stored, pepper)).toBeNull();
  });

  it('returns null once the code is no longer among the unused ones', () => {
    const unused = stored.filter((s) => s.id !== 'id-3');
    expect(findMatchingBackupCode(codes[3]!, unused, pepper)).toBeNull();
    expect(findMatchingBackupCode(codes[3]!, [], pepper)).toBeNull();
  });
});
