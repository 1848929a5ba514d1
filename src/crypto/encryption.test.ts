import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decryptSecret, encryptSecret, needsReencryption } from './encryption.ts';

const k1 = { id: 'k1', key: randomBytes(32) };
const k2 = { id: 'k2', key: randomBytes(32) };
const encK1 = { keys: [k1], activeKeyId: 'k1' };
const encBoth = { keys: [k1, k2], activeKeyId: 'k2' };

/** Flip one character in the middle of a base64url part, keeping the encoding valid. */
function flipChar(part: string): string {
  const i = Math.floor(part.length / 2);
  const c = part[i] === 'A' ? 'B' : 'A';
  return part.slice(0, i) + c + part.slice(i + 1);
}

describe('encryptSecret / decryptSecret', () => {
  it('round-trips strings, buffers and the empty string', () => {
    for (const plain of ['JBSWY3DPEHPK3PXP', 'ünïcødé ✓', '']) {
      const blob = encryptSecret(plain, encK1, 'totp:u1');
      expect(decryptSecret(blob, encK1, 'totp:u1').toString('utf8')).toBe(plain);
    }
    const bytes = randomBytes(64);
    expect(decryptSecret(encryptSecret(bytes, encK1), encK1).equals(bytes)).toBe(true);
  });

  it('produces v1.<keyId>.<iv>.<ciphertext>.<tag> with a fresh 12-byte IV and a 16-byte tag', () => {
    const a = encryptSecret('same secret', encK1);
    const b = encryptSecret('same secret', encK1);
    expect(a).not.toBe(b);
    const [version, keyId, iv, ct, tag] = a.split('.');
    expect(version).toBe('v1');
    expect(keyId).toBe('k1');
    expect(Buffer.from(iv!, 'base64url')).toHaveLength(12);
    expect(Buffer.from(tag!, 'base64url')).toHaveLength(16);
    expect(Buffer.from(ct!, 'base64url')).toHaveLength('same secret'.length);
    expect(a).not.toContain('same secret');
    expect(a).not.toContain(Buffer.from('same secret').toString('base64url'));
  });

  it('throws when any part is tampered with', () => {
    const blob = encryptSecret('a secret worth protecting', encK1, 'aad');
    const parts = blob.split('.');
    for (const i of [2, 3, 4]) {
      const tampered = parts.map((p, j) => (j === i ? flipChar(p) : p)).join('.');
      expect(tampered).not.toBe(blob);
      expect(() => decryptSecret(tampered, encK1, 'aad'), `part ${i}`).toThrow();
    }
    // Version and key id are authenticated too: relabelling fails even if the key exists.
    const relabelled = ['v2', ...parts.slice(1)].join('.');
    expect(() => decryptSecret(relabelled, encK1, 'aad')).toThrow(/version/);
    const sameKeyOtherId = { keys: [k1, { id: 'k9', key: k1.key }], activeKeyId: 'k1' };
    const renamed = [parts[0], 'k9', ...parts.slice(2)].join('.');
    expect(() => decryptSecret(renamed, sameKeyOtherId, 'aad')).toThrow();
  });

  it('throws on a truncated tag, trailing garbage and non-canonical encodings', () => {
    const blob = encryptSecret('secret', encK1);
    const [v, id, iv, ct, tag] = blob.split('.') as [string, string, string, string, string];
    const shortTag = Buffer.from(tag, 'base64url').subarray(0, 12).toString('base64url');
    expect(() => decryptSecret([v, id, iv, ct, shortTag].join('.'), encK1)).toThrow(/malformed/);
    expect(() => decryptSecret(`${blob}.x`, encK1)).toThrow(/malformed/);
    expect(() => decryptSecret([v, id, `${iv}=`, ct, tag].join('.'), encK1)).toThrow(/malformed/);
    expect(() => decryptSecret('not a blob', encK1)).toThrow(/malformed/);
  });

  it('throws with the wrong AAD, or a missing one', () => {
    const blob = encryptSecret('secret', encK1, 'totp:user-a');
    expect(() => decryptSecret(blob, encK1, 'totp:user-b')).toThrow(/authentication failed/);
    expect(() => decryptSecret(blob, encK1)).toThrow(/authentication failed/);
    expect(() => decryptSecret(encryptSecret('secret', encK1), encK1, 'x')).toThrow();
  });

  it('keeps old blobs readable after the active key changes, and flags them for re-encryption', () => {
    const old = encryptSecret('secret', encK1, 'aad');
    expect(needsReencryption(old, encK1)).toBe(false);
    expect(decryptSecret(old, encBoth, 'aad').toString()).toBe('secret');
    expect(needsReencryption(old, encBoth)).toBe(true);
    const fresh = encryptSecret('secret', encBoth, 'aad');
    expect(fresh.split('.')[1]).toBe('k2');
    expect(needsReencryption(fresh, encBoth)).toBe(false);
  });

  it('throws on an unknown key id without revealing anything', () => {
    const blob = encryptSecret('top secret', encBoth);
    let message = '';
    try {
      decryptSecret(blob, encK1);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/unknown encryption key id/);
    for (const leak of ['top secret', k1.key.toString('base64'), k2.key.toString('base64'), blob]) {
      expect(message).not.toContain(leak);
    }
  });

  it('refuses to encrypt when the active key id is not configured', () => {
    expect(() => encryptSecret('x', { keys: [k1], activeKeyId: 'nope' })).toThrow(/unknown/);
  });
});
