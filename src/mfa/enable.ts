// Enabling MFA: a code from the pending secret proves the authenticator has it; the secret
// becomes the user's, its time step is spent (the enrolment code cannot log in), 10 backup
// codes are issued, and the current session counts as having proven a second factor — so an
// enrolment-only session (org policy) gets full tokens at its next refresh.
import type { Principal } from '../access/principal.ts';
import { recordAudit } from '../audit/audit.ts';
import type { AuthContext } from '../auth/auth-context.ts';
import { sendNotice } from '../auth/notifications.ts';
import type { User } from '../db/schema.ts';
import { AppError } from '../http/errors.ts';
import type { RequestMeta } from '../http/request-meta.ts';
import { issueBackupCodes } from './backup-codes-regenerate.ts';
import { reserveCodeAttempt } from './code-attempts.ts';
import { enableTotp, setSessionAmr } from './mfa.repository.ts';
import { ownFactorEntry, refuseWrongCode, withOwnUser } from './own-factor.ts';
import { verifyTotp } from './totp.ts';
import { openTotpSecret } from './totp-secret.ts';

type Outcome =
  | { kind: 'ok'; codes: string[]; user: User }
  | { kind: 'wrong' }
  | { kind: 'already' }
  | { kind: 'no_setup' };

export async function enableMfa(
  auth: AuthContext,
  p: Principal,
  code: string,
  meta: RequestMeta,
): Promise<string[]> {
  const attempt = await reserveCodeAttempt(auth, p.userId);
  const outcome = await withOwnUser(auth, p, async (tx, user): Promise<Outcome> => {
    if (!user) throw new AppError('unauthenticated');
    if (user.mfa_enabled_at) return { kind: 'already' };
    const pending = user.totp_pending_secret_enc;
    if (!pending) return { kind: 'no_setup' };
    const { secret, resealed } = openTotpSecret(auth, user.id, pending);
    const v = verifyTotp(secret, code, { lastUsedStep: null });
    if (!v.ok) return { kind: 'wrong' };
    const enabled = await enableTotp(tx, {
      userId: user.id,
      pendingBlob: pending,
      secretBlob: resealed ?? pending,
      step: v.step,
    });
    // A concurrent setup replaced the secret this code belongs to (or enable won the race).
    if (!enabled) return { kind: 'no_setup' };
    const codes = await issueBackupCodes(tx, auth, user.id);
    if (p.sessionId) {
      const amr = [...new Set([...(p.amr ?? ['pwd']), 'mfa', 'otp'])];
      await setSessionAmr(tx, user.id, p.sessionId, amr);
    }
    await recordAudit(tx, meta, ownFactorEntry(p, 'mfa.enable', 'success'));
    return { kind: 'ok', codes, user };
  });
  switch (outcome.kind) {
    case 'already':
      await attempt.release();
      throw new AppError('mfa_already_enabled');
    case 'no_setup':
      await attempt.release();
      throw new AppError('mfa_setup_required', 'Call POST /api/auth/mfa/setup first');
    case 'wrong':
      return refuseWrongCode(auth, attempt, meta, p, 'mfa.enable');
    case 'ok':
      await attempt.succeeded();
      sendNotice(auth, outcome.user, 'mfaEnabled');
      return outcome.codes;
  }
}
