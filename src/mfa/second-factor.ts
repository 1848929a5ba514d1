// Proving the second factor: a TOTP code or a backup code, each spendable once. Runs inside the
// caller's transaction; the compare-and-set updates make a code that two concurrent requests
// present succeed for exactly one of them.
import type { AuthContext } from '../auth/auth-context.ts';
import type { User } from '../db/schema.ts';
import type { Tx } from '../db/tenant.ts';
import { findMatchingBackupCode } from './backup-codes.ts';
import {
  claimTotpStep,
  replaceTotpSecretBlob,
  spendBackupCode,
  unusedBackupCodes,
} from './mfa.repository.ts';
import { verifyTotp } from './totp.ts';
import { openTotpSecret } from './totp-secret.ts';

export type FactorInput = { totp: string } | { backupCode: string };
/** `reused`: a TOTP code of a step already spent, by an earlier request or a concurrent one. */
export type FactorProof =
  | { ok: true; method: 'totp' | 'backup_code' }
  | { ok: false; reused?: true };

/** One `code` field that may hold either kind: six digits (spaces allowed) is TOTP. */
export function factorFromCode(code: string): FactorInput {
  return /^[0-9\s]+$/.test(code) ? { totp: code } : { backupCode: code };
}

export async function proveSecondFactor(
  tx: Tx,
  auth: AuthContext,
  user: User,
  input: FactorInput,
): Promise<FactorProof> {
  if (!user.mfa_enabled_at || !user.totp_secret_enc) return { ok: false };
  if ('totp' in input) {
    const { secret, resealed } = openTotpSecret(auth, user.id, user.totp_secret_enc);
    if (resealed) {
      await replaceTotpSecretBlob(tx, user.id, 'totp_secret_enc', user.totp_secret_enc, resealed);
    }
    const lastUsedStep = user.totp_last_step === null ? null : Number(user.totp_last_step);
    const v = verifyTotp(secret, input.totp, { lastUsedStep });
    if (!v.ok) return v;
    return (await claimTotpStep(tx, user.id, v.step))
      ? { ok: true, method: 'totp' }
      : { ok: false, reused: true };
  }
  const codes = await unusedBackupCodes(tx, user.id);
  const id = findMatchingBackupCode(input.backupCode, codes, auth.config.secretKey);
  if (id === null) return { ok: false };
  return (await spendBackupCode(tx, user.id, id))
    ? { ok: true, method: 'backup_code' }
    : { ok: false };
}
