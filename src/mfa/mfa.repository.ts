// TOTP state on the users row, backup codes, and the session's authentication methods. Every
// write that spends something (a time step, a backup code) is a compare-and-set: of two
// concurrent requests presenting the same code, exactly one updates a row. The caller owns the
// transaction.
import { sql } from 'kysely';
import type { Tx } from '../db/tenant.ts';
import { newId } from '../http/ids.ts';

export async function setPendingTotpSecret(tx: Tx, userId: string, blob: string): Promise<void> {
  await tx
    .updateTable('users')
    .set({ totp_pending_secret_enc: blob, updated_at: new Date() })
    .where('id', '=', userId)
    .execute();
}

/**
 * Promotes the pending secret that was verified. Refused (false) if MFA got enabled meanwhile or
 * the pending secret was replaced by a newer setup since it was read.
 */
export async function enableTotp(
  tx: Tx,
  u: { userId: string; pendingBlob: string; secretBlob: string; step: number },
): Promise<boolean> {
  const r = await tx
    .updateTable('users')
    .set({
      totp_secret_enc: u.secretBlob,
      totp_pending_secret_enc: null,
      totp_last_step: u.step,
      mfa_enabled_at: new Date(),
      updated_at: new Date(),
    })
    .where('id', '=', u.userId)
    .where('mfa_enabled_at', 'is', null)
    .where('totp_pending_secret_enc', '=', u.pendingBlob)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Spends a time step: only a step later than every step spent before succeeds. */
export async function claimTotpStep(tx: Tx, userId: string, step: number): Promise<boolean> {
  const r = await tx
    .updateTable('users')
    .set({ totp_last_step: step })
    .where('id', '=', userId)
    .where('mfa_enabled_at', 'is not', null)
    .where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', step)]))
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Re-encryption under the active key; a no-op if the blob changed since it was read. */
export async function replaceTotpSecretBlob(
  tx: Tx,
  userId: string,
  column: 'totp_secret_enc' | 'totp_pending_secret_enc',
  oldBlob: string,
  newBlob: string,
): Promise<void> {
  await tx
    .updateTable('users')
    .set({ [column]: newBlob })
    .where('id', '=', userId)
    .where(column, '=', oldBlob)
    .execute();
}

export async function insertBackupCodes(
  tx: Tx,
  userId: string,
  hashes: readonly string[],
): Promise<void> {
  await tx
    .insertInto('mfa_backup_codes')
    .values(hashes.map((code_hash) => ({ id: newId(), user_id: userId, code_hash })))
    .execute();
}

export async function unusedBackupCodes(
  tx: Tx,
  userId: string,
): Promise<{ id: string; hash: string }[]> {
  const rows = await tx
    .selectFrom('mfa_backup_codes')
    .select(['id', 'code_hash'])
    .where('user_id', '=', userId)
    .where('used_at', 'is', null)
    .execute();
  return rows.map((r) => ({ id: r.id, hash: r.code_hash }));
}

export async function countUnusedBackupCodes(tx: Tx, userId: string): Promise<number> {
  const r = await tx
    .selectFrom('mfa_backup_codes')
    .select((eb) => eb.fn.countAll<string | number>().as('n'))
    .where('user_id', '=', userId)
    .where('used_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

/** Spends one backup code; false when another request spent it first. */
export async function spendBackupCode(tx: Tx, userId: string, id: string): Promise<boolean> {
  const r = await tx
    .updateTable('mfa_backup_codes')
    .set({ used_at: sql<Date>`now()` })
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** The session has now proven a second factor (enrolment inside it). */
export async function setSessionAmr(
  tx: Tx,
  userId: string,
  sessionId: string,
  amr: readonly string[],
): Promise<void> {
  await tx
    .updateTable('sessions')
    .set({ amr: JSON.stringify(amr) })
    .where('id', '=', sessionId)
    .where('user_id', '=', userId)
    .execute();
}
