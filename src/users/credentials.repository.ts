// Ending what a user holds or has handed out (second factors, API keys, pending invitations), which
// more than one capability does: the first proof of mailbox control (src/auth/mailbox-proof.ts)
// purges them all, MFA's disable ends TOTP and, with regenerate, retires backup codes; a removal
// or a disabling revokes keys and invitations (src/users/creator-keys.ts,
// src/orgs/invitation-authority.ts). The capabilities that create them keep the rest of their SQL.
// The caller owns the transaction.
import { sql } from 'kysely';
import type { Role } from '../db/schema.ts';
import type { Tx } from '../db/tenant.ts';

/** The users columns of a TOTP enrolment, pending setups included, emptied. */
function noTotp() {
  return {
    mfa_enabled_at: null,
    totp_secret_enc: null,
    totp_pending_secret_enc: null,
    totp_last_step: null,
    updated_at: new Date(),
  };
}

/** Turns MFA off; false when it was not on (a concurrent disable got there first). */
export async function disableTotp(tx: Tx, userId: string): Promise<boolean> {
  const r = await tx
    .updateTable('users')
    .set(noTotp())
    .where('id', '=', userId)
    .where('mfa_enabled_at', 'is not', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/**
 * Removes every trace of TOTP enrolment, pending setups included (whoever held the account before
 * its mailbox was proven). True when MFA was enabled.
 */
export async function removeTotpEnrolment(tx: Tx, userId: string): Promise<boolean> {
  const before = await tx
    .selectFrom('users')
    .select('mfa_enabled_at')
    .where('id', '=', userId)
    .forUpdate()
    .executeTakeFirst();
  await tx.updateTable('users').set(noTotp()).where('id', '=', userId).execute();
  return !!before?.mfa_enabled_at;
}

/** Kills every unused code (regeneration, disable): rows stay, as the schema has no deletes. */
export async function retireBackupCodes(tx: Tx, userId: string): Promise<number> {
  const r = await tx
    .updateTable('mfa_backup_codes')
    .set({ used_at: sql<Date>`now()` })
    .where('user_id', '=', userId)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/**
 * Revokes every live key the user created: in `orgId` only, else in every org; with
 * `createdBefore`, only those made up to then. Returns them (id and org).
 */
export function revokeApiKeysCreatedBy(
  tx: Tx,
  userId: string,
  opts: { revokedBy: string; orgId?: string; createdBefore?: Date },
): Promise<{ id: string; org_id: string }[]> {
  let q = tx
    .updateTable('api_keys')
    .set({ revoked_at: new Date(), revoked_by: opts.revokedBy })
    .where('created_by', '=', userId)
    .where('revoked_at', 'is', null);
  if (opts.orgId) q = q.where('org_id', '=', opts.orgId);
  if (opts.createdBefore) q = q.where('created_at', '<=', opts.createdBefore);
  return q.returning(['id', 'org_id']).execute();
}

/**
 * Revokes the pending invitations sent by `invitedBy` whose role is in `roles` (in one org, or in
 * every org the transaction may see when orgId is omitted); returns them.
 */
export async function revokeInvitationsSentBy(
  tx: Tx,
  f: { invitedBy: string; roles: Role[]; orgId?: string },
  revokedBy: string,
): Promise<{ id: string; org_id: string; role: Role }[]> {
  if (f.roles.length === 0) return [];
  let q = tx
    .updateTable('invitations')
    .set({ revoked_at: new Date(), revoked_by: revokedBy })
    .where('invited_by', '=', f.invitedBy)
    .where('role', 'in', f.roles)
    .where('accepted_at', 'is', null)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', new Date());
  if (f.orgId) q = q.where('org_id', '=', f.orgId);
  return q.returning(['id', 'org_id', 'role']).execute();
}
