// Refresh-token rotation with reuse detection. Each use retires the presented token and issues
// its successor. A retired token presented again after the grace window means it was copied:
// the whole session is revoked (its newest refresh token and its access tokens stop working).
// Within the window (two tabs refreshing at once) the loser gets a 409 that ends nothing; the
// row lock makes concurrent refreshes of one token leave exactly one live successor.
import { findActiveMembership, findOrg } from '../access/membership.repository.ts';
import { mfaEnrollmentPending } from '../access/org-policy.ts';
import { recordAudit } from '../audit/audit.ts';
import { hashToken } from '../crypto/tokens.ts';
import { withSystem } from '../db/tenant.ts';
import { AppError } from '../http/errors.ts';
import type { RequestMeta } from '../http/request-meta.ts';
import { clientKey } from '../security/client-key.ts';
import { findUserById } from '../users/user.repository.ts';
import type { AuthContext } from './auth-context.ts';
import {
  findRefreshTokenForUpdate,
  findSessionForUpdate,
  markRotated,
  revokeSessions,
  touchSession,
} from './session.repository.ts';
import { addRefreshToken, type TokenPair, tokenPair } from './session-issue.ts';

type Outcome =
  | { kind: 'ok'; tokens: TokenPair; sessionId: string }
  | { kind: 'reused'; sessionId: string }
  | { kind: 'invalid' }
  | { kind: 'race' };

export async function refresh(
  auth: AuthContext,
  presented: string,
  meta: RequestMeta,
): Promise<{ tokens: TokenPair; sessionId: string }> {
  await auth.limiter.consume('refresh_ip', clientKey(meta.ip));
  if (presented.length < 20 || presented.length > 200) throw new AppError('invalid_refresh_token');
  const now = Date.now();
  const grace = auth.config.auth.refreshReuseGraceSeconds * 1000;

  // The revocation of a reused token must commit even though the request fails, so the
  // transaction returns an outcome and the error is thrown after it. Sessions it ends reach the
  // revocation list only once that commit happened (a rollback ends nothing).
  let ended: string[] = [];
  const outcome: Outcome = await withSystem(auth.database, async (tx) => {
    ended = [];
    const rt = await findRefreshTokenForUpdate(tx, hashToken(presented));
    if (!rt) return { kind: 'invalid' };
    const session = await findSessionForUpdate(tx, rt.session_id);
    if (!session || session.revoked_at || session.expires_at.getTime() <= now)
      return { kind: 'invalid' };

    if (rt.rotated_at) {
      if (now - rt.rotated_at.getTime() <= grace) return { kind: 'race' };
      const ids = await revokeSessions(
        tx,
        { userId: rt.user_id, sessionId: session.id },
        'refresh_token_reused',
      );
      ended = ids;
      await recordAudit(tx, meta, {
        org_id: session.org_id,
        actor_user_id: rt.user_id,
        actor_type: 'user',
        action: 'auth.refresh_token_reused',
        target_type: 'session',
        target_id: session.id,
        outcome: 'failure',
        metadata: { reason: 'session_revoked' },
      });
      return { kind: 'reused', sessionId: session.id };
    }
    if (rt.expires_at.getTime() <= now) return { kind: 'invalid' };

    // The role may have changed, or the membership ended, since the session began.
    const user = await findUserById(tx, rt.user_id);
    const membership = await findActiveMembership(tx, session.org_id, rt.user_id);
    if (user?.status !== 'active' || (!membership && !user.is_superuser)) {
      const ids = await revokeSessions(
        tx,
        { userId: rt.user_id, sessionId: session.id },
        'access_lost',
      );
      ended = ids;
      return { kind: 'invalid' };
    }

    const next = await addRefreshToken(tx, auth, {
      sessionId: session.id,
      userId: rt.user_id,
      sessionExpiresAt: session.expires_at,
    });
    await markRotated(tx, rt.id, next.id);
    await touchSession(tx, session.id);
    const role = membership?.role ?? 'owner';
    // The org's MFA policy is re-read on every refresh: a new requirement pins the session to
    // enrolment, and enabling MFA in this session releases it at the next refresh (another
    // session that never proved a second factor stays pinned).
    const org = await findOrg(tx, session.org_id);
    const tokens = await tokenPair(
      auth,
      {
        userId: rt.user_id,
        orgId: session.org_id,
        role,
        superuser: user.is_superuser,
        amr: session.amr,
        mfaPending: mfaEnrollmentPending(user, session.amr, org?.settings, role),
      },
      session.id,
      next.token,
    );
    return { kind: 'ok', tokens, sessionId: session.id };
  });
  auth.revocation.add(ended);

  switch (outcome.kind) {
    case 'ok':
      return outcome;
    case 'reused':
      throw new AppError('refresh_token_reused');
    case 'race':
      throw new AppError(
        'refresh_in_progress',
        'This refresh token was just used by another request; use the newer tokens',
      );
    case 'invalid':
      throw new AppError('invalid_refresh_token');
  }
}
