// Minting the single-use tokens of the email and MFA flows: 256 bits from the CSPRNG, handed to
// the user once, stored only as SHA-256.
import { generateToken, hashToken } from '../crypto/tokens.ts';
import type { UserTokenPurpose } from '../db/schema.ts';
import type { Tx } from '../db/tenant.ts';
import { newId } from '../http/ids.ts';
import { insertUserToken } from './user-token.repository.ts';

/** Longer than any token we mint, shorter than anything that could hurt: refuse before hashing. */
const MAX_TOKEN_LENGTH = 200;
const MIN_TOKEN_LENGTH = 20;

export async function issueUserToken(
  tx: Tx,
  t: {
    userId: string;
    purpose: UserTokenPurpose;
    ttlMs: number;
    metadata?: Record<string, unknown>;
  },
): Promise<{ token: string; expiresAt: Date }> {
  const token = generateToken(32);
  const expiresAt = new Date(Date.now() + t.ttlMs);
  await insertUserToken(tx, {
    id: newId(),
    user_id: t.userId,
    purpose: t.purpose,
    token_hash: hashToken(token),
    expires_at: expiresAt,
    metadata: t.metadata,
  });
  return { token, expiresAt };
}

/** The stored form of a presented token, or null when it cannot be one of ours. */
export function presentedTokenHash(token: string): string | null {
  if (token.length < MIN_TOKEN_LENGTH || token.length > MAX_TOKEN_LENGTH) return null;
  if (!/^[A-Za-z0-9_-]+$/.test(token)) return null;
  return hashToken(token);
}
