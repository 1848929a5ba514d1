// Opening a session and minting its credentials: one opaque refresh token (256-bit random,
// stored only as SHA-256) at the head of the session's chain, and a short-lived access JWT.

import { generateToken, hashToken } from '../crypto/tokens.ts';
import type { Role } from '../db/schema.ts';
import type { Tx } from '../db/tenant.ts';
import { newId } from '../http/ids.ts';
import type { RequestMeta } from '../http/request-meta.ts';
import type { AuthContext } from './auth-context.ts';
import { insertRefreshToken, insertSession } from './session.repository.ts';

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: 'bearer';
  expires_in: number;
}

export interface SessionSubject {
  userId: string;
  orgId: string;
  role: Role;
  superuser: boolean;
  amr: string[];
  mfaPending?: boolean;
}

export function refreshExpiry(auth: AuthContext, sessionExpiresAt: Date): Date {
  const idle = Date.now() + auth.config.auth.refreshIdleTtlSeconds * 1000;
  return new Date(Math.min(idle, sessionExpiresAt.getTime()));
}

/** A new refresh token for the session, inserted in the caller's transaction. */
export async function addRefreshToken(
  tx: Tx,
  auth: AuthContext,
  s: { sessionId: string; userId: string; sessionExpiresAt: Date },
): Promise<{ id: string; token: string }> {
  const token = generateToken(32);
  const id = newId();
  await insertRefreshToken(tx, {
    id,
    session_id: s.sessionId,
    user_id: s.userId,
    token_hash: hashToken(token),
    expires_at: refreshExpiry(auth, s.sessionExpiresAt),
  });
  return { id, token };
}

export async function openSession(
  tx: Tx,
  auth: AuthContext,
  subject: SessionSubject,
  meta: RequestMeta,
): Promise<{ sessionId: string; refreshToken: string }> {
  const sessionId = newId();
  const expiresAt = new Date(Date.now() + auth.config.auth.sessionAbsoluteTtlSeconds * 1000);
  await insertSession(tx, {
    id: sessionId,
    user_id: subject.userId,
    org_id: subject.orgId,
    user_agent: meta.userAgent,
    ip: meta.ip,
    amr: subject.amr,
    expires_at: expiresAt,
  });
  const rt = await addRefreshToken(tx, auth, {
    sessionId,
    userId: subject.userId,
    sessionExpiresAt: expiresAt,
  });
  return { sessionId, refreshToken: rt.token };
}

export async function tokenPair(
  auth: AuthContext,
  subject: SessionSubject,
  sessionId: string,
  refreshToken: string,
): Promise<TokenPair> {
  const signed = await auth.tokens.sign({
    sub: subject.userId,
    sid: sessionId,
    org: subject.orgId,
    role: subject.role,
    amr: subject.amr,
    ...(subject.superuser ? { su: true as const } : {}),
    ...(subject.mfaPending ? { mfa_pending: true as const } : {}),
  });
  return {
    access_token: signed.token,
    refresh_token: refreshToken,
    token_type: 'bearer',
    expires_in: signed.expiresIn,
  };
}
