// Disabling MFA needs both the password and a current code (TOTP or a backup code): a stolen
// session alone, or a shoulder-surfed password alone, cannot turn the second factor off.
import type { Principal } from '../access/principal.ts';
import { tenantOf } from '../access/principal.ts';
import { recordAudit, recordAuditAlone } from '../audit/audit.ts';
import type { AuthContext } from '../auth/auth-context.ts';
import { sendNotice } from '../auth/notifications.ts';
import { verifyPassword } from '../auth/password.ts';
import { withTenant } from '../db/tenant.ts';
import { AppError } from '../http/errors.ts';
import type { RequestMeta } from '../http/request-meta.ts';
import { clientKey } from '../security/client-key.ts';
import type { Reservation } from '../security/rate-limits.ts';
import { disableTotp, retireBackupCodes } from '../users/credentials.repository.ts';
import { findUserById } from '../users/user.repository.ts';
import { reserveCodeAttempt } from './code-attempts.ts';
import { type FactorProof, factorFromCode, proveSecondFactor } from './second-factor.ts';

export async function disableMfa(
  auth: AuthContext,
  p: Principal,
  input: { password: string; code: string },
  meta: RequestMeta,
): Promise<void> {
  const actor_type = p.superuser ? 'superuser' : 'user';
  const audit = { org_id: p.orgId, actor_user_id: p.userId, actor_type } as const;
  const user = await withTenant(auth.database, tenantOf(p), (tx) => findUserById(tx, p.userId));
  if (!user) throw new AppError('unauthenticated');
  if (!user.mfa_enabled_at) throw new AppError('mfa_not_enabled');

  // The password is guessed against the same brute-force counters as a login, the code against
  // mfa_verify; both attempts are counted before either secret is checked.
  const password = await auth.loginGuard.reserve({ account: user.email, ip: clientKey(meta.ip) });
  let code: Reservation;
  try {
    code = await reserveCodeAttempt(auth, p.userId);
  } catch (err) {
    await password.release();
    throw err;
  }
  if (!user.password_hash || !(await verifyPassword(user.password_hash, input.password))) {
    await password.failed();
    await code.release();
    await recordAuditAlone(auth.database, meta, {
      ...audit,
      action: 'mfa.disable',
      target_type: 'user',
      target_id: p.userId,
      outcome: 'failure',
      metadata: { reason: 'wrong_password' },
    });
    throw new AppError('invalid_credentials', 'The password is incorrect', {
      errors: [{ field: 'password', message: 'is incorrect' }],
    });
  }
  await password.succeeded();

  const proof = await withTenant(auth.database, tenantOf(p), async (tx): Promise<FactorProof> => {
    const current = await findUserById(tx, p.userId);
    if (!current) return { ok: false };
    const proof = await proveSecondFactor(tx, auth, current, factorFromCode(input.code));
    if (!proof.ok) return proof;
    await disableTotp(tx, p.userId);
    await retireBackupCodes(tx, p.userId);
    await recordAudit(tx, meta, {
      ...audit,
      action: 'mfa.disable',
      target_type: 'user',
      target_id: p.userId,
      outcome: 'success',
      metadata: { method: proof.method },
    });
    return proof;
  });
  if (!proof.ok) {
    await code.failed();
    await recordAuditAlone(auth.database, meta, {
      ...audit,
      action: 'mfa.disable',
      target_type: 'user',
      target_id: p.userId,
      outcome: 'failure',
      metadata: { reason: 'invalid_code', ...(proof.reused ? { reused: true } : {}) },
    });
    throw new AppError(proof.reused ? 'code_reused' : 'invalid_code');
  }
  await code.succeeded();
  sendNotice(auth, user, 'mfaDisabled');
}
