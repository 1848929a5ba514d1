import { describe, expect, it } from 'vitest';
import { normalizeEmail } from './email-address.ts';

describe('normalizeEmail', () => {
  it.each([
    ['alice@example.com', 'alice@example.com'],
    ['Alice.Smith@Example.COM', 'alice.smith@example.com'],
    ['  bob@example.com \n', 'bob@example.com'],
    ['\u3000carol@example.com\u3000', 'carol@example.com'],
    ['ｄａｖｅ＠ｅｘａｍｐｌｅ．ｃｏｍ', 'dave@example.com'],
    ['user+tag@sub.example.co.uk', 'user+tag@sub.example.co.uk'],
    ['ÉMILE@exemple.fr', 'émile@exemple.fr'],
    ['e\u0301mile@exemple.fr', 'émile@exemple.fr'],
  ])('%j → %j', (raw, expected) => {
    expect(normalizeEmail(raw)).toBe(expected);
  });

  it.each([
    ['empty', ''],
    ['blank', '   '],
    ['no @', 'alice.example.com'],
    ['two @', 'alice@bob@example.com'],
    ['empty local part', '@example.com'],
    ['empty domain', 'alice@'],
    ['domain without a dot', 'alice@localhost'],
    ['domain with an empty label', 'alice@example..com'],
    ['domain ending in a dot', 'alice@example.com.'],
    ['domain starting with a dot', 'alice@.example.com'],
    ['inner space', 'ali ce@example.com'],
    ['tab', 'alice@exa\tmple.com'],
    ['control character', 'alice\u0000@example.com'],
    ['zero-width space', 'al\u200bice@example.com'],
    ['bidi override', 'alice\u202e@example.com'],
    ['local part over 64', `${'a'.repeat(65)}@example.com`],
    [
      'over 254 in total',
      `${'a'.repeat(64)}@${'b'.repeat(61)}.${'c'.repeat(61)}.${'d'.repeat(62)}.com`,
    ],
  ])('rejects %s', (_label, raw) => {
    expect(normalizeEmail(raw)).toBeNull();
  });

  it('accepts the size limits themselves', () => {
    expect(normalizeEmail(`${'a'.repeat(64)}@example.com`)).not.toBeNull();
    const at254 = `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(57)}.com`;
    expect(at254).toHaveLength(254);
    expect(normalizeEmail(at254)).toBe(at254);
    expect(normalizeEmail(`a${at254}`)).toBeNull();
  });

  it('is idempotent', () => {
    const once = normalizeEmail(' ＡＬＩＣＥ@Example.com ');
    expect(once).toBe('alice@example.com');
    expect(normalizeEmail(once!)).toBe(once);
  });
});
