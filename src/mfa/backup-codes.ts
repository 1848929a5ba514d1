import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';

/**
 * Lower-case letters and digits without the ones people confuse when copying from paper
 * (0/o, 1/l/i). Input is lower-cased before comparison, so O and I typed by a user can never
 * match either.
 */
export const BACKUP_CODE_ALPHABET = '23456789abcdefghjkmnpqrstuvwxyz';
const GROUP_LENGTH = 5;
const GROUPS = 2;
/** 31^10 ≈ 2^49.5 per code: out of reach online behind the login brute-force limits. */
export const BACKUP_CODE_LENGTH = GROUP_LENGTH * GROUPS;

/** A pepper shorter than this is a misconfiguration, not a secret. */
const MIN_PEPPER_BYTES = 32;

const NORMALIZED = new RegExp(`^[${BACKUP_CODE_ALPHABET}]{${BACKUP_CODE_LENGTH}}$`);

/** `xxxxx-xxxxx`, each character from the CSPRNG without modulo bias (randomInt rejects). */
function generateBackupCode(): string {
  const groups: string[] = [];
  for (let g = 0; g < GROUPS; g++) {
    let group = '';
    for (let i = 0; i < GROUP_LENGTH; i++) {
      group += BACKUP_CODE_ALPHABET[randomInt(BACKUP_CODE_ALPHABET.length)];
    }
    groups.push(group);
  }
  return groups.join('-');
}

/** Distinct codes: a duplicate would make one code silently worth two uses. */
export function generateBackupCodes(count = 10): string[] {
  const codes = new Set<string>();
  while (codes.size < count) codes.add(generateBackupCode());
  return [...codes];
}

/** What the user typed, as stored: case, spaces and dashes (incl. typographic ones that
 * phones and word processors substitute) are presentation only. */
export function normalizeBackupCode(input: string): string {
  return input.toLowerCase().replace(/[\s\u2010-\u2014-]+/g, '');
}

/**
 * HMAC-SHA-256 keyed with a server-side pepper, hex.
 *
 * Why not a slow hash: ~49.5 bits of entropy are beyond online guessing under the login rate
 * limits, and login must compare against all ten stored hashes, which argon2 would make cost
 * ten slow hashes per attempt (a DoS lever). Why not bare SHA-256: it is unsalted, so one
 * offline sweep of the 2^49.5 space (about a GPU-day) would open every user's codes at once
 * after a database leak. With the pepper kept outside the database (config, not a column), a
 * dump alone gives nothing to brute-force against. Rotating the pepper invalidates stored
 * codes: users regenerate them.
 */
export function hashBackupCode(code: string, pepper: Uint8Array): string {
  if (pepper.length < MIN_PEPPER_BYTES) {
    throw new TypeError(`backup code pepper must be at least ${MIN_PEPPER_BYTES} bytes`);
  }
  return createHmac('sha256', pepper).update(normalizeBackupCode(code), 'utf8').digest('hex');
}

function hashesEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a, 'hex');
  const bb = Buffer.from(b, 'hex');
  // Buffer.from('…', 'hex') silently drops what is not hex; a malformed stored hash must not
  // shrink to a prefix that could compare equal.
  return ab.length === 32 && bb.length === 32 && timingSafeEqual(ab, bb);
}

function isWellFormed(normalized: string): boolean {
  return NORMALIZED.test(normalized);
}

export function verifyBackupCode(code: string, hash: string, pepper: Uint8Array): boolean {
  const normalized = normalizeBackupCode(code);
  if (!isWellFormed(normalized)) return false;
  return hashesEqual(hashBackupCode(normalized, pepper), hash);
}

/**
 * The id of the code the input matches among the user's unused codes, or null. Every stored
 * hash is compared (no early exit). Single use is the caller's job: mark the code used with
 * `… WHERE id = $id AND used_at IS NULL` and treat zero rows updated as a failed attempt, so two
 * concurrent logins cannot both spend it.
 */
export function findMatchingBackupCode(
  input: string,
  hashes: readonly { id: string; hash: string }[],
  pepper: Uint8Array,
): string | null {
  const normalized = normalizeBackupCode(input);
  if (!isWellFormed(normalized)) return null;
  const candidate = hashBackupCode(normalized, pepper);
  let matched: string | null = null;
  for (const { id, hash } of hashes) {
    if (hashesEqual(candidate, hash) && matched === null) matched = id;
  }
  return matched;
}
