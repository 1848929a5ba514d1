// TOTP secrets at rest: AES-256-GCM under the active key id, bound to their user by the AAD, so
// a blob copied onto another user's row does not open. A blob sealed under an older key is
// re-sealed under the active one whenever it is used (rotation needs no batch job).

import type { AuthContext } from '../auth/auth-context.ts';
import { decryptSecret, encryptSecret, needsReencryption } from '../crypto/encryption.ts';

const aad = (userId: string) => `totp:${userId}`;

export function sealTotpSecret(auth: AuthContext, userId: string, secret: string): string {
  return encryptSecret(secret, auth.config.encryption, aad(userId));
}

/** The base32 secret, and the blob re-sealed under the active key when it needs it (else null). */
export function openTotpSecret(
  auth: AuthContext,
  userId: string,
  blob: string,
): { secret: string; resealed: string | null } {
  const enc = auth.config.encryption;
  const secret = decryptSecret(blob, enc, aad(userId)).toString('utf8');
  const resealed = needsReencryption(blob, enc) ? encryptSecret(secret, enc, aad(userId)) : null;
  return { secret, resealed };
}
