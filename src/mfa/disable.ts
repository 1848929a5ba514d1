// Disabling MFA needs both the password and a current code (TOTP or a backup code): a stolen
// session alone, or a shoulder-surfed password alone, cannot turn the second factor off.
import type { Principal } from '../access/principal.ts';
import { recordAudit, recordAuditAlone } from '../audit/audit.ts';
import type { AuthContext } from '../auth/auth-context.ts';
import { sendNotice } from '../auth/notifications.ts';
import { verifyPassword } from '../auth/password.ts';
import { AppError } from '../http/errors.ts';
import type { RequestMeta } from '../http/request-meta.ts';
import { clientKey } from '../security/client-key.ts';
import type { Reservation } from '../security/rate-limits.ts';
import { disableTotp, retireBackupCodes } from '../users/credentials.repository.ts';
import { reserveCodeAttempt } from './code-attempts.ts';
import { ownFactorEntry, refuseWrongCode, withOwnUser } from './own-factor.ts';
import { type FactorProof, factorFromCode, proveSecondFactor } from './second-factor.ts';

export async function disableMfa(
  auth: AuthContext,
  p: Principal,
  input: { password: string; code: string },
  meta: RequestMeta,
): Promise<void> {
  const user = await withOwnUser(auth, p, async (_tx, u) => u);
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
    await recordAuditAlone(
      auth.database,
      meta,
      ownFactorEntry(p, 'mfa.disable', 'failure', { reason: 'wrong_password' }),
    );
    throw new AppError('invalid_credentials', 'The password is incorrect', {
      errors: [{ field: 'password', message: 'is incorrect' }],
    });
  }
  await password.succeeded();

  const proof = await withOwnUser(auth, p, async (tx, current): Promise<FactorProof> => {
    // The password proven above may have been replaced meanwhile (a reset ends the sessions,
    // which withOwnUser refuses; a change by another session ends this one too).
    if (current && current.password_hash !== user.password_hash) {
      throw new AppError('invalid_credentials', 'The password was changed meanwhile');
    }
    if (!current) return { ok: false };
    const proof = await proveSecondFactor(tx, auth, current, factorFromCode(input.code));
    if (!proof.ok) return proof;
    await disableTotp(tx, p.userId);
    await retireBackupCodes(tx, p.userId);
    await recordAudit(
      tx,
      meta,
      ownFactorEntry(p, 'mfa.disable', 'success', { method: proof.method }),
    );
    return proof;
  }).catch(async (err) => {
    // Refused before the code was judged: not a guess.
    await code.release();
    throw err;
  });
  if (!proof.ok) return refuseWrongCode(auth, code, meta, p, 'mfa.disable', proof.reused === true);
  await code.succeeded();
  sendNotice(auth, user, 'mfaDisabled');
}
