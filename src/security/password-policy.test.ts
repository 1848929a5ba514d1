import { describe, expect, it } from 'vitest';
import type { PasswordProblem } from './password-policy.ts';
import { checkPassword, commonPasswords, DEFAULT_PASSWORD_POLICY } from './password-policy.ts';

const rules = (problems: PasswordProblem[]) => problems.map((p) => p.rule);
// A 15-character password that is in no list and names nobody.
const GOOD = 'vq7 lantern ox!';

describe('DEFAULT_PASSWORD_POLICY', () => {
  it('is 15 to 128 characters', () => {
    expect(DEFAULT_PASSWORD_POLICY).toEqual({ minLength: 15, maxLength: 128 });
  });
});

describe('checkPassword: length', () => {
  it('accepts a good password with no problems', () => {
    expect(GOOD).toHaveLength(15);
    expect(checkPassword(GOOD, {})).toEqual([]);
  });

  it('refuses 14 characters and accepts 15', () => {
    expect(rules(checkPassword('mq2 zebra lamp', {}))).toEqual(['too_short']);
    expect(checkPassword('mq2 zebra lampx', {})).toEqual([]);
  });

  it('accepts 128 characters and refuses 129', () => {
    const base = 'xk4 walrus tidepool '.repeat(7); // 140 chars
    expect(checkPassword(base.slice(0, 128), {})).toEqual([]);
    expect(rules(checkPassword(base.slice(0, 129), {}))).toEqual(['too_long']);
  });

  it('has no composition rules: lower-case letters only are fine', () => {
    expect(checkPassword('purple otter skating slowly', {})).toEqual([]);
  });

  it('counts an emoji as one character', () => {
    const fourteenEmoji = '🦊🌵🎻🧲🪁🛶🍄🧊🦉🪐🎈🧵🪴🦑'; // 14 code points, 28 UTF-16 units
    expect(rules(checkPassword(fourteenEmoji, {}))).toEqual(['too_short']);
    expect(checkPassword(`${fourteenEmoji}🐙`, {})).toEqual([]);
    expect(checkPassword(`${'a1 '.repeat(42)}b🐙`, {})).toEqual([]); // 128 code points
    expect(rules(checkPassword(`${'a1 '.repeat(42)}bc🐙`, {}))).toEqual(['too_long']);
  });

  it('measures length after NFKC', () => {
    // U+FDFA is one code point that NFKC expands to 18.
    expect(checkPassword('\uFDFA', {})).toEqual([]);
    // Full-width letters stay one character each.
    expect(rules(checkPassword('ｍｑ２ ｚｅｂｒａ ｌａｍｐ', {}))).toEqual(['too_short']);
  });

  it('uses the policy it is given', () => {
    const policy = { minLength: 8, maxLength: 20 };
    expect(checkPassword('vq7 lant', {}, policy)).toEqual([]);
    expect(rules(checkPassword('vq7 lan', {}, policy))).toEqual(['too_short']);
    expect(rules(checkPassword('vq7 lantern ox tide!!', {}, policy))).toEqual(['too_long']);
  });
});

describe('checkPassword: blocklist', () => {
  it('ships at least 10,000 common passwords', () => {
    const list = commonPasswords();
    expect(list.size).toBeGreaterThanOrEqual(10_000);
    expect(list.has('password')).toBe(true);
    expect(list.has('123456')).toBe(true);
    expect(list.has('')).toBe(false);
  });

  it('holds only lower-cased, NFKC-normalised entries, so every entry can match', () => {
    const unmatchable = [...commonPasswords()].filter(
      (p) => p !== p.normalize('NFKC').toLowerCase(),
    );
    expect(unmatchable).toEqual([]);
  });

  it.each([
    'qazwsxedcrfvtgb',
    'passwordpassword',
    '1qaz2wsx3edc4rfv',
    '123456789qwerty',
    'qwertyuiop12345',
  ])('refuses %s although it is long enough', (password) => {
    expect(rules(checkPassword(password, {}))).toEqual(['common']);
  });

  it('matches case-insensitively and after NFKC', () => {
    expect(rules(checkPassword('PassWordPassword', {}))).toEqual(['common']);
    expect(rules(checkPassword('ＰＡＳＳＷＯＲＤｐａｓｓｗｏｒｄ', {}))).toEqual(['common']);
  });

  it('reports both problems for a short common password', () => {
    expect(rules(checkPassword('password', {}))).toEqual(['too_short', 'common']);
  });

  it('is an exact match, not a substring match', () => {
    expect(checkPassword('my password is a secret', {})).toEqual([]);
  });
});

describe('checkPassword: personal information', () => {
  const context = { email: 'Margaret.Hamilton@example.com', fullName: 'Margaret Hamilton' };

  it('refuses a password containing the local part of the email', () => {
    expect(rules(checkPassword('xx margaret.hamilton 2024', context))).toEqual(['personal_info']);
  });

  it('refuses a password containing the whole email, in any case', () => {
    expect(
      rules(
        checkPassword('MARGARET.HAMILTON@EXAMPLE.COM', { email: 'margaret.hamilton@example.com' }),
      ),
    ).toEqual(['personal_info']);
  });

  it('refuses a password containing the full name or one name part', () => {
    expect(
      rules(checkPassword('i am margaret hamilton!', { fullName: 'Margaret Hamilton' })),
    ).toEqual(['personal_info']);
    expect(
      rules(checkPassword('hamiltonrocketsapollo', { fullName: 'Margaret Hamilton' })),
    ).toEqual(['personal_info']);
    expect(rules(checkPassword('rocketry by MARGARET', context))).toEqual(['personal_info']);
  });

  it('ignores identifiers shorter than 4 characters', () => {
    expect(
      checkPassword('kitchen table bojo', { email: 'bo@example.com', fullName: 'Bo Li' }),
    ).toEqual([]);
    expect(rules(checkPassword('kitchen table bojo', { email: 'bojo@example.com' }))).toEqual([
      'personal_info',
    ]);
  });

  it('accepts a password unrelated to the user, and absent or null context', () => {
    expect(checkPassword(GOOD, context)).toEqual([]);
    expect(checkPassword(GOOD, { email: null, fullName: null })).toEqual([]);
    expect(checkPassword(GOOD, { email: '', fullName: '   ' })).toEqual([]);
  });
});

describe('checkPassword: messages', () => {
  it('say in plain words which rule failed', () => {
    const message = (password: string, ctx = {}) => checkPassword(password, ctx)[0]?.message;
    expect(message('short')).toBe('must be at least 15 characters');
    expect(message('x'.repeat(129))).toBe('must be at most 128 characters');
    expect(message('passwordpassword')).toMatch(/common/);
    expect(message('lovelace ada lovelace', { fullName: 'Ada Lovelace' })).toMatch(
      /email address or name/,
    );
  });

  it('follow the configured limits', () => {
    const [problem] = checkPassword('short', {}, { minLength: 20, maxLength: 64 });
    expect(problem).toEqual({ rule: 'too_short', message: 'must be at least 20 characters' });
  });
});
