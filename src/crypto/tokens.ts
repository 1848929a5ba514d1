// Opaque-token primitives for refresh, reset, verification and invitation tokens and API keys.
import { createHmac, hash, timingSafeEqual } from 'node:crypto';
import { randomBytesPooled } from './random.ts';

const MIN_TOKEN_BYTES = 16;

/** A fresh random token, base64url. At least 128 bits, so it cannot be guessed or enumerated. */
export function generateToken(bytes = 32): string {
  if (!Number.isInteger(bytes) || bytes < MIN_TOKEN_BYTES) {
    throw new RangeError(`a token needs at least ${MIN_TOKEN_BYTES} random bytes`);
  }
  return randomBytesPooled(bytes).toString('base64url');
}

/**
 * The stored form of a token: SHA-256, hex. A database leak then reveals no usable token.
 * A fast hash is enough because these tokens carry >= 128 bits of randomness: unlike a password,
 * there is no dictionary to try, so a slow hash (argon2) would add cost and no protection.
 * Never use this for passwords or short codes.
 */
export function hashToken(token: string): string {
  return hash('sha256', token, 'hex');
}

/**
 * Compare two secrets without leaking, through timing, how long a prefix matched. A length
 * mismatch returns false at once: lengths of hashes and fixed-size tokens are not secret.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  if (x.length !== y.length) return false;
  return timingSafeEqual(x, y);
}

/**
 * A value only the holder of `key` can make for `subject`, in the namespace `purpose`:
 * HMAC-SHA-256, base64url. One made for another subject or purpose never matches, so a value an
 * attacker got for their own subject (or planted) is worth nothing for the victim's.
 */
export function keyedToken(key: Buffer, purpose: string, subject: string): string {
  return createHmac('sha256', key).update(`${purpose}\0${subject}`, 'utf8').digest('base64url');
}
