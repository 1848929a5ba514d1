// MFA setup: a fresh TOTP secret, kept encrypted as the user's pending secret until a code from
// it proves the authenticator app has it (enable.ts). Calling again replaces the pending one.
import type { Principal } from '../access/principal.ts';
import { recordAudit } from '../audit/audit.ts';
import type { AuthContext } from '../auth/auth-context.ts';
import { AppError } from '../http/errors.ts';
import type { RequestMeta } from '../http/request-meta.ts';
import { setPendingTotpSecret } from './mfa.repository.ts';
import { ownFactorEntry, withOwnUser } from './own-factor.ts';
import { generateTotpSecret, otpauthUrl, qrCodeDataUrl } from './totp.ts';
import { sealTotpSecret } from './totp-secret.ts';

export interface MfaSetup {
  secret: string;
  otpauth_url: string;
  qr_code: string;
}

export async function startMfaSetup(
  auth: AuthContext,
  p: Principal,
  meta: RequestMeta,
): Promise<MfaSetup> {
  const secret = generateTotpSecret();
  const user = await withOwnUser(auth, p, async (tx, u) => {
    if (!u) throw new AppError('unauthenticated');
    if (u.mfa_enabled_at) throw new AppError('mfa_already_enabled', 'Disable it first to re-enrol');
    await setPendingTotpSecret(tx, u.id, sealTotpSecret(auth, u.id, secret));
    await recordAudit(tx, meta, ownFactorEntry(p, 'mfa.setup', 'success'));
    return u;
  });
  // ":" separates issuer and account in the label; an address holding one is shown with "_".
  const url = otpauthUrl({ secret, accountName: user.email.replace(/:/g, '_') });
  return { secret, otpauth_url: url, qr_code: await qrCodeDataUrl(url) };
}
