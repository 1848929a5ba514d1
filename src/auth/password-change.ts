// Changing a password while logged in: proves the current one, applies the policy, and ends every
// other session of the user (a thief holding one of them loses it), every live link that would
// set a password (one requested by whoever reads the user's mailbox must not undo the change) and
// every login half-done with the old password (its MFA step).
import { personActor } from '../access/actor.ts';
import type { Principal } from '../access/principal.ts';
import { tenantOf } from '../access/principal.ts';
import { recordAudit, recordAuditAlone } from '../audit/audit.ts';
import { withTenant } from '../db/tenant.ts';
import { AppError } from '../http/errors.ts';
import type { RequestMeta } from '../http/request-meta.ts';
import { clientKey } from '../security/client-key.ts';
import { normalizePassword } from '../security/password-policy.ts';
import { findUserById, upgradePasswordHash } from '../users/user.repository.ts';
import type { AuthContext } from './auth-context.ts';
import { sendNotice } from './notifications.ts';
import { verifyPassword } from './password.ts';
import { PASSWORD_BOUND_PURPOSES } from './password-reset.ts';
import { hashAllowedPassword } from './password-rules.ts';
import { findLiveSessionForUpdate, revokeSessions } from './session.repository.ts';
import { retireUserTokens } from './user-token.repository.ts';

export async function changePassword(
  auth: AuthContext,
  p: Principal,
  input: { current_password: string; new_password: string },
  meta: RequestMeta,
): Promise<void> {
  const user = await withTenant(auth.database, tenantOf(p), (tx) => findUserById(tx, p.userId));
  if (!user) throw new AppError('unauthenticated');
  // The current password is guessed against the same brute-force counters as a login.
  const attempt = await auth.loginGuard.reserve({ account: user.email, ip: clientKey(meta.ip) });
  if (!user.password_hash || !(await verifyPassword(user.password_hash, input.current_password))) {
    await attempt.failed();
    await recordAuditAlone(auth.database, meta, {
      org_id: p.orgId,
      ...personActor(p),
      action: 'auth.password_change',
      outcome: 'failure',
      metadata: { reason: 'wrong_current_password' },
    });
    throw new AppError('invalid_credentials', 'The current password is incorrect', {
      errors: [{ field: 'current_password', message: 'is incorrect' }],
    });
  }
  await attempt.succeeded();
  // A change that keeps the password would still end the other sessions and read as a rotation
  // (in the audit log, and to a user rotating a leaked password who typed the old one again).
  if (normalizePassword(input.new_password) === normalizePassword(input.current_password)) {
    throw new AppError('validation_failed', 'The new password is the current one', {
      errors: [{ field: 'new_password', message: 'must differ from the current password' }],
    });
  }
  const hash = await hashAllowedPassword(
    auth,
    input.new_password,
    { email: user.email, fullName: user.full_name },
    'new_password',
  );
  const verified = user.password_hash;
  const ended = await withTenant(auth.database, tenantOf(p), async (tx) => {
    // Only over the password just proven, and only from a session still live: a reset (or another
    // change) committed while this one hashed has replaced that password and ended the sessions
    // that knew it; written unconditionally, this change undid the reset, its mailbox proof
    // included, from a session the reset had already ended.
    if (!(await upgradePasswordHash(tx, p.userId, verified, hash))) {
      throw new AppError('invalid_credentials', 'The password was changed meanwhile');
    }
    if (p.sessionId && !(await findLiveSessionForUpdate(tx, p.sessionId))) {
      throw new AppError('unauthenticated', 'The session has ended');
    }
    await retireUserTokens(tx, p.userId, PASSWORD_BOUND_PURPOSES);
    const ids = await revokeSessions(
      tx,
      { userId: p.userId, exceptSessionId: p.sessionId },
      'password_changed',
    );
    await recordAudit(tx, meta, {
      org_id: p.orgId,
      ...personActor(p),
      action: 'auth.password_change',
      target_type: 'user',
      target_id: p.userId,
      outcome: 'success',
      metadata: { sessions_ended: ids.length },
    });
    return ids;
  });
  auth.revocation.add(ended);
  sendNotice(auth, user, 'passwordChanged');
}
