// Secrets at rest (TOTP secrets, signing keys, third-party credentials): AES-256-GCM under a key
// id, so the active key can change while blobs sealed under older keys stay readable.
//
// Blob: v1.<keyId>.<iv>.<ciphertext>.<tag> (base64url parts). The version and key id are bound
// into the additional authenticated data, so a blob cannot be relabelled; the caller's AAD (e.g.
// `totp:<userId>`) binds the ciphertext to its row and purpose, so a blob copied onto another row
// fails to open. Error messages never carry key material, plaintext or the blob.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { EncryptionKey } from '../config.ts';

export interface EncryptionConfig {
  keys: readonly EncryptionKey[];
  activeKeyId: string;
}

const VERSION = 'v1';
const ALGORITHM = 'aes-256-gcm';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const B64URL = /^[A-Za-z0-9_-]*$/;
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

interface SealedParts {
  keyId: string;
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

/**
 * A blob this configuration cannot open: its key id is not in ENCRYPTION_KEYS, or the key under
 * that id is not the one that sealed it (or the blob or its binding was changed). Names the key
 * id, never key material.
 */
export class UndecryptableSecretError extends Error {
  override name = 'UndecryptableSecretError';
  constructor(
    readonly keyId: string,
    readonly reason: 'unknown_key_id' | 'authentication_failed',
  ) {
    super(
      reason === 'unknown_key_id'
        ? 'encrypted secret: unknown encryption key id'
        : 'encrypted secret: authentication failed',
    );
  }
}

function findKey(enc: EncryptionConfig, id: string): Buffer {
  const found = enc.keys.find((k) => k.id === id);
  if (!found) throw new UndecryptableSecretError(id, 'unknown_key_id');
  if (found.key.length !== KEY_BYTES) throw new Error('encrypted secret: key must be 32 bytes');
  return found.key;
}

// Only the canonical encoding is accepted, so every change to the text changes the bytes that
// GCM authenticates (a lenient decoder would let trailing bits or stray characters slip by).
function decodePart(part: string): Buffer {
  if (!B64URL.test(part)) throw new Error('encrypted secret: malformed');
  const bytes = Buffer.from(part, 'base64url');
  if (bytes.toString('base64url') !== part) throw new Error('encrypted secret: malformed');
  return bytes;
}

function parse(blob: string): SealedParts {
  if (typeof blob !== 'string') throw new Error('encrypted secret: malformed');
  const parts = blob.split('.');
  if (parts.length !== 5) throw new Error('encrypted secret: malformed');
  const [version, keyId, iv, ciphertext, tag] = parts as [string, string, string, string, string];
  if (version !== VERSION) throw new Error('encrypted secret: unsupported version');
  if (!KEY_ID.test(keyId)) throw new Error('encrypted secret: malformed');
  const sealed = {
    keyId,
    iv: decodePart(iv),
    ciphertext: decodePart(ciphertext),
    tag: decodePart(tag),
  };
  // A short tag would weaken authentication to a guessable size: accept exactly 16 bytes.
  if (sealed.iv.length !== IV_BYTES || sealed.tag.length !== TAG_BYTES) {
    throw new Error('encrypted secret: malformed');
  }
  return sealed;
}

function associatedData(keyId: string, aad: string | undefined): Buffer {
  return Buffer.from(`${VERSION}.${keyId}.${aad ?? ''}`, 'utf8');
}

/** Seal a secret under the active key. A fresh random IV per call: never reuse one with a key. */
export function encryptSecret(
  plaintext: string | Buffer,
  enc: EncryptionConfig,
  aad?: string,
): string {
  const key = findKey(enc, enc.activeKeyId);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(associatedData(enc.activeKeyId, aad));
  const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
  const ciphertext = Buffer.concat([cipher.update(data), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [
    VERSION,
    enc.activeKeyId,
    iv.toString('base64url'),
    ciphertext.toString('base64url'),
    tag.toString('base64url'),
  ].join('.');
}

/** Open a sealed secret; throws on an unknown key id, a wrong AAD or any tampering. */
export function decryptSecret(blob: string, enc: EncryptionConfig, aad?: string): Buffer {
  const { keyId, iv, ciphertext, tag } = parse(blob);
  const key = findKey(enc, keyId);
  const decipher = createDecipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(associatedData(keyId, aad));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    // Node's message is generic already; replace it anyway so nothing about the input leaks.
    throw new UndecryptableSecretError(keyId, 'authentication_failed');
  }
}

/** True when the blob was sealed under a key other than the active one (re-encrypt on use). */
export function needsReencryption(blob: string, enc: EncryptionConfig): boolean {
  return parse(blob).keyId !== enc.activeKeyId;
}
