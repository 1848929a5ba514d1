// Enabling MFA: a code from the pending secret proves the authenticator has it; the secret
// becomes the user's, its time step is spent (the enrolment code cannot log in), 10 backup
// codes are issued, and the current session counts as having proven a second factor — so this
// enrolment-only session (org policy) gets full tokens at its next refresh; the user's other
// sessions never proved one and stay pinned (org-policy.ts mfaEnrollmentPending).
import type { Principal } from '../access/principal.ts';
import { recordAudit } from '../audit/audit.ts';
import type { AuthContext } from '../auth/auth-context.ts';
import { sendNotice } from '../auth/notifications.ts';
import { AppError } from '../http/errors.ts';
import type { RequestMeta } from '../http/request-meta.ts';
import { issueBackupCodes } from './backup-codes-regenerate.ts';
import { enableTotp, setSessionAmr } from './mfa.repository.ts';
import { type CodeProvenOutcome, ownFactorEntry, proveWithOwnCode } from './own-factor.ts';
import { verifyTotp } from './totp.ts';
import { openTotpSecret } from './totp-secret.ts';

export async function enableMfa(
  auth: AuthContext,
  p: Principal,
  code: string,
  meta: RequestMeta,
): Promise<string[]> {
  const { value: codes, user } = await proveWithOwnCode(
    auth,
    p,
    meta,
    'mfa.enable',
    async (tx, user): Promise<CodeProvenOutcome<string[]>> => {
      if (!user) throw new AppError('unauthenticated');
      if (user.mfa_enabled_at)
        return { kind: 'refused', error: new AppError('mfa_already_enabled') };
      const pending = user.totp_pending_secret_enc;
      if (!pending) return noSetup();
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
      if (!enabled) return noSetup();
      const value = await issueBackupCodes(tx, auth, user.id);
      if (p.sessionId) {
        const amr = [...new Set([...(p.amr ?? ['pwd']), 'mfa', 'otp'])];
        await setSessionAmr(tx, user.id, p.sessionId, amr);
      }
      await recordAudit(tx, meta, ownFactorEntry(p, 'mfa.enable', 'success'));
      return { kind: 'ok', value, user };
    },
  );
  sendNotice(auth, user, 'mfaEnabled');
  return codes;
}

const noSetup = () =>
  ({
    kind: 'refused',
    error: new AppError('mfa_setup_required', 'Call POST /api/auth/mfa/setup first'),
  }) as const;
