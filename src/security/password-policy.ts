// NIST SP 800-63B rev. 4 password rules: a minimum and maximum length, a blocklist of common or
// breached passwords and the user's own identifiers refused — and deliberately no composition
// rules (no "one digit, one symbol"), which push users towards predictable passwords.
import { readFileSync } from 'node:fs';
import { codePointLength } from '../infra/text.ts';

/**
 * The form a password is judged and hashed in: exactly as typed after NFKC, so the same password
 * entered from another keyboard or input method is the same password (src/auth/password.ts).
 */
export function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}

export interface PasswordPolicy {
  minLength: number;
  maxLength: number;
}

/** 15 is 800-63B rev. 4's minimum for a password used as a single factor. */
export const DEFAULT_PASSWORD_POLICY: Readonly<PasswordPolicy> = Object.freeze({
  minLength: 15,
  maxLength: 128,
});

export type PasswordRule = 'too_short' | 'too_long' | 'common' | 'personal_info';

export interface PasswordProblem {
  rule: PasswordRule;
  message: string;
}

export interface PasswordContext {
  email?: string | null;
  fullName?: string | null;
}

/** Identifiers shorter than this match too many unrelated passwords to be worth refusing. */
const MIN_IDENTIFIER_LENGTH = 4;

const BLOCKLIST_URL = new URL('./data/common-passwords.txt', import.meta.url);
let blocklist: ReadonlySet<string> | undefined;

/** The shipped blocklist (lower-cased, NFKC), read from disk on first use only. */
export function commonPasswords(): ReadonlySet<string> {
  if (!blocklist) {
    const lines = readFileSync(BLOCKLIST_URL, 'utf8').split(/\r?\n/);
    blocklist = new Set(lines.filter((line) => line !== ''));
  }
  return blocklist;
}

function fold(text: string): string {
  return text.normalize('NFKC').toLowerCase();
}

function emailIdentifiers(email: string): string[] {
  const folded = fold(email.trim());
  const at = folded.lastIndexOf('@');
  const localPart = at > 0 ? folded.slice(0, at) : '';
  return [folded, localPart].filter((s) => codePointLength(s) >= MIN_IDENTIFIER_LENGTH);
}

function nameIdentifiers(fullName: string): string[] {
  const folded = fold(fullName).trim().replace(/\s+/gu, ' ');
  const parts = folded.split(/[\s\p{P}]+/u);
  return [folded, ...parts].filter((s) => codePointLength(s) >= MIN_IDENTIFIER_LENGTH);
}

function containsPersonalInfo(foldedPassword: string, context: PasswordContext): boolean {
  const identifiers = [
    ...(context.email ? emailIdentifiers(context.email) : []),
    ...(context.fullName ? nameIdentifiers(context.fullName) : []),
  ];
  return identifiers.some((id) => foldedPassword.includes(id));
}

/** Every rule the password breaks, each with a message that names it; empty when acceptable. */
export function checkPassword(
  password: string,
  context: PasswordContext = {},
  policy: PasswordPolicy = DEFAULT_PASSWORD_POLICY,
): PasswordProblem[] {
  const normalized = normalizePassword(password);
  const folded = normalized.toLowerCase();
  const length = codePointLength(normalized);
  const problems: PasswordProblem[] = [];
  if (length < policy.minLength) {
    problems.push({
      rule: 'too_short',
      message: `must be at least ${policy.minLength} characters`,
    });
  }
  if (length > policy.maxLength) {
    problems.push({ rule: 'too_long', message: `must be at most ${policy.maxLength} characters` });
  }
  if (commonPasswords().has(folded)) {
    problems.push({
      rule: 'common',
      message: 'is too common: it appears in a list of common or breached passwords',
    });
  }
  if (containsPersonalInfo(folded, context)) {
    problems.push({
      rule: 'personal_info',
      message: 'must not contain your email address or name',
    });
  }
  return problems;
}
