// The shape of an API key: `sb_<prefix>_<secret>`. The prefix (60 random bits, unambiguous
// characters) names the key in lists and logs and finds its row; the secret (256 random bits)
// never leaves the response that created it. Only the SHA-256 of the whole key is stored: with
// that much entropy a fast hash is enough (see hashToken).
import { randomBytes } from 'node:crypto';
import { generateToken, hashToken } from '../crypto/tokens.ts';

// 32 symbols, so one random byte & 31 picks one without bias; no 0/o, 1/l look-alikes.
const PREFIX_ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789';
const PREFIX_LENGTH = 12;
const KEY_SHAPE = /^sb_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

export function newApiKey(): { prefix: string; key: string; hash: string } {
  const bytes = randomBytes(PREFIX_LENGTH);
  let prefix = '';
  for (const b of bytes) prefix += PREFIX_ALPHABET[b & 31];
  const key = `sb_${prefix}_${generateToken(32)}`;
  return { prefix, key, hash: hashToken(key) };
}

/** The prefix of a well-formed key, or null: malformed input never reaches the database. */
export function apiKeyPrefix(key: string): string | null {
  return KEY_SHAPE.exec(key)?.[1] ?? null;
}
