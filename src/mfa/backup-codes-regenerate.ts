// Backup codes: 10 single-use codes, shown once, stored only as peppered HMACs. A new set
// retires every unused code of the old one in the same transaction.
import type { Principal } from '../access/principal.ts';
import { recordAudit } from '../audit/audit.ts';
import type { AuthContext } from '../auth/auth-context.ts';
import { sendNotice } from '../auth/notifications.ts';
import type { Tx } from '../db/tenant.ts';
import { AppError } from '../http/errors.ts';
import type { RequestMeta } from '../http/request-meta.ts';
import { retireBackupCodes } from '../users/credentials.repository.ts';
import { generateBackupCodes, hashBackupCode } from './backup-codes.ts';
import { insertBackupCodes } from './mfa.repository.ts';
import { type CodeProvenOutcome, ownFactorEntry, proveWithOwnCode } from './own-factor.ts';
import { factorFromCode, proveSecondFactor } from './second-factor.ts';

export const BACKUP_CODE_COUNT = 10;
const REGENERATE = 'mfa.backup_codes_regenerate';

/** Retires the old set and stores the hashes of a new one; the plaintext goes to the user once. */
export async function issueBackupCodes(tx: Tx, auth: AuthContext, userId: string) {
  await retireBackupCodes(tx, userId);
  const codes = generateBackupCodes(BACKUP_CODE_COUNT);
  await insertBackupCodes(
    tx,
    userId,
    codes.map((c) => hashBackupCode(c, auth.config.secretKey)),
  );
  return codes;
}

export async function regenerateBackupCodes(
  auth: AuthContext,
  p: Principal,
  code: string,
  meta: RequestMeta,
): Promise<string[]> {
  const { value: codes, user } = await proveWithOwnCode(
    auth,
    p,
    meta,
    REGENERATE,
    async (tx, user): Promise<CodeProvenOutcome<string[]>> => {
      if (!user?.mfa_enabled_at) return { kind: 'refused', error: new AppError('mfa_not_enabled') };
      const proof = await proveSecondFactor(tx, auth, user, factorFromCode(code));
      if (!proof.ok) return { kind: 'wrong', reused: proof.reused === true };
      const value = await issueBackupCodes(tx, auth, user.id);
      await recordAudit(
        tx,
        meta,
        ownFactorEntry(p, REGENERATE, 'success', { method: proof.method }),
      );
      return { kind: 'ok', value, user };
    },
  );
  sendNotice(auth, user, 'backupCodesRegenerated');
  return codes;
}
