// The first proof of mailbox control. Until an address is proven, its account may have been made
// by anyone: registered by someone who merely typed the address (verification is optional), or
// created by the owner of any org. Whoever did that may have armed it with their own sessions,
// TOTP, API keys and invitations (their own address, invited as owner into the org the account
// made at sign-up), waiting for the real owner to reset "her" password or accept an invitation
// into it, and start using the workspace she lands in. The mailbox owner always wins: the first time a mailed link (verification, reset,
// set-password, invitation) is followed for a never-verified account, every credential made before
// that moment dies with it. Later proofs change nothing (MFA and keys the owner set up stay).
//
// Every flow that consumes a mailed token calls this inside its own transaction, after spending
// the token, so the purge commits with the act that proved the mailbox or not at all. The caller
// passes `endedSessions` to `auth.revocation.add` after the commit, so live access tokens die
// at once on this instance (and on the others at their next poll).
import { recordAudit, recordRevocations } from '../audit/audit.ts';
import { ROLES } from '../db/schema.ts';
import type { Tx } from '../db/tenant.ts';
import type { RequestMeta } from '../http/request-meta.ts';
import { revokeCreatorKeys } from '../users/creator-keys.ts';
import {
  removeTotpEnrolment,
  retireBackupCodes,
  revokeInvitationsSentBy,
} from '../users/credentials.repository.ts';
import { claimFirstEmailProof } from '../users/user.repository.ts';
import { revokeSessions } from './session.repository.ts';
import { retireUserTokens } from './user-token.repository.ts';

export type MailboxProofVia = 'verify_email' | 'reset_password' | 'set_password' | 'invitation';

export interface MailboxProof {
  /** True when this was the account's first proof (and so the purge ran). */
  first: boolean;
  /** Sessions ended by the purge: hand them to the revocation list after the commit. */
  endedSessions: string[];
  /** API keys revoked by the purge: hand them to auth.apiKeyRevocations after the commit. */
  revokedApiKeys: string[];
}

export async function proveMailboxControl(
  tx: Tx,
  userId: string,
  via: MailboxProofVia,
  meta: RequestMeta,
): Promise<MailboxProof> {
  if (!(await claimFirstEmailProof(tx, userId)))
    return { first: false, endedSessions: [], revokedApiKeys: [] };

  const provenAt = new Date();
  // Refresh families hang off their session: a revoked session refuses its refresh tokens.
  const endedSessions = await revokeSessions(tx, { userId }, 'mailbox_proven');
  const mfaRemoved = await removeTotpEnrolment(tx, userId);
  const backupCodes = await retireBackupCodes(tx, userId);
  // A half-finished MFA login made with the pre-proof password must not complete afterwards.
  await retireUserTokens(tx, userId, ['mfa_login']);
  // Each org sees why its key stopped working.
  const keys = await revokeCreatorKeys(
    tx,
    meta,
    { actor_user_id: userId, actor_type: 'user' },
    { userId, createdBefore: provenAt },
    'mailbox_proven',
  );
  // An invitation the pre-claimer sent (their own address, as owner) would let them into the
  // workspace the mailbox owner is about to use: pending ones die with the other credentials.
  const invitations = await revokeInvitationsSentBy(
    tx,
    { invitedBy: userId, roles: [...ROLES] },
    userId,
  );
  await recordRevocations(
    tx,
    meta,
    { actor_user_id: userId, actor_type: 'user' },
    { action: 'invitation.revoke', target_type: 'invitation' },
    invitations,
    (inv) => ({ reason: 'mailbox_proven', role: inv.role }),
  );
  await recordAudit(tx, meta, {
    org_id: null,
    actor_user_id: userId,
    actor_type: 'user',
    action: 'account.mailbox_proven',
    target_type: 'user',
    target_id: userId,
    outcome: 'success',
    metadata: {
      via,
      sessions_ended: endedSessions.length,
      mfa_removed: mfaRemoved,
      backup_codes_retired: backupCodes,
      api_keys_revoked: keys.length,
      invitations_revoked: invitations.length,
    },
  });
  return { first: true, endedSessions, revokedApiKeys: keys.map((k) => k.id) };
}
