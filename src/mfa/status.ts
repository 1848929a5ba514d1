// What the account-security page shows: is MFA on, since when, how many backup codes are left.
import type { Principal } from '../access/principal.ts';
import { tenantOf } from '../access/principal.ts';
import type { AuthContext } from '../auth/auth-context.ts';
import { withTenant } from '../db/tenant.ts';
import { AppError } from '../http/errors.ts';
import { findUserById } from '../users/user.repository.ts';
import { countUnusedBackupCodes } from './mfa.repository.ts';

export function mfaStatus(auth: AuthContext, p: Principal) {
  return withTenant(auth.database, tenantOf(p), async (tx) => {
    const user = await findUserById(tx, p.userId);
    if (!user) throw new AppError('unauthenticated');
    const enabled = user.mfa_enabled_at !== null;
    return {
      enabled,
      enabled_at: user.mfa_enabled_at?.toISOString() ?? null,
      backup_codes_remaining: enabled ? await countUnusedBackupCodes(tx, user.id) : 0,
    };
  });
}
