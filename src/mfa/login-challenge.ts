// The login's second step. After a correct password, a user with MFA gets no session but an
// `mfa_token`: opaque (never a JWT, so no authenticator accepts it as a credential), 256-bit,
// stored only hashed, single use, 5 minutes, and bound to the attempt (user, org, and a hash of
// the client's IP and user agent). A user without MFA whose org requires it for their role gets
// an enrolment-only session instead (decided as the session opens: login.ts completeLogin).
import { createHash } from 'node:crypto';
import { lockStanding } from '../access/standing.ts';
import type { AuthContext } from '../auth/auth-context.ts';
import type { SecondFactorHook } from '../auth/login.ts';
import { issueUserToken } from '../auth/user-tokens.ts';
import { withTenant } from '../db/tenant.ts';
import type { RequestMeta } from '../http/request-meta.ts';

export const MFA_LOGIN_TTL_MS = 5 * 60 * 1000;
export const MFA_METHODS = ['totp', 'backup_code'];

/** The client an mfa_token was handed to; the token works only from the same one. */
export function clientBinding(meta: Pick<RequestMeta, 'ip' | 'userAgent'>): string {
  return createHash('sha256')
    .update(JSON.stringify([meta.ip, meta.userAgent ?? '']))
    .digest('hex');
}

export function mfaSecondFactor(auth: AuthContext): SecondFactorHook {
  return async (user, subject, meta) => {
    const ctx = { orgId: subject.orgId, userId: subject.userId, role: subject.role };
    if (user.mfa_enabled_at) {
      const { token } = await withTenant(auth.database, ctx, async (tx) => {
        // Issued only while the password just verified is still the account's, under its lock: a
        // change or reset commits before (refused here) or waits, then retires this token.
        await lockStanding(tx, subject.orgId, user.id, { passwordHash: user.password_hash });
        return issueUserToken(tx, {
          userId: user.id,
          purpose: 'mfa_login',
          ttlMs: MFA_LOGIN_TTL_MS,
          metadata: { org_id: subject.orgId, role: subject.role, client: clientBinding(meta) },
        });
      });
      return { kind: 'mfa', mfa_token: token, methods: MFA_METHODS };
    }
    // Without MFA: one step. Whether the org's policy pins the session to enrolment is judged
    // when it opens (login.ts completeLogin), under the org's and the account's locks.
    return null;
  };
}
