// What the account-security page shows: is MFA on, since when, how many backup codes are left.
import type { Principal } from '../access/principal.ts';
import type { AuthContext } from '../auth/auth-context.ts';
import { AppError } from '../http/errors.ts';
import { countUnusedBackupCodes } from './mfa.repository.ts';
import { withOwnUser } from './own-factor.ts';

export function mfaStatus(auth: AuthContext, p: Principal) {
  return withOwnUser(auth, p, async (tx, user) => {
    if (!user) throw new AppError('unauthenticated');
    const enabled = user.mfa_enabled_at !== null;
    return {
      enabled,
      enabled_at: user.mfa_enabled_at?.toISOString() ?? null,
      backup_codes_remaining: enabled ? await countUnusedBackupCodes(tx, user.id) : 0,
    };
  });
}
