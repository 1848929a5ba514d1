// An invitation carries its inviter's authority and must not outlive it.
//
// Threat: an admin who is demoted, removed or disabled keeps "admitting" people through the
// invitations they sent before — new admins let in by someone who may no longer grant anything.
// - When a member's role drops, their membership ends or their account is disabled, their
//   pending invitations that their new standing could not grant are revoked in the SAME
//   transaction as the change, one audit entry each (`revokeInvitationsBeyondAuthority`).
// - At acceptance the inviter's standing is read again (`settleInviterAuthority`, before the
//   accept transaction, and `assertInviterAuthority` inside it): an invitation whose inviter is no
//   longer an active member who may grant its role is refused (410 invitation_authority_lost) and
//   revoked for good, so the inviter's later return does not revive the link.

import { recordAudit, recordRevocations } from '../audit/audit.ts';
import type { AuthContext } from '../auth/auth-context.ts';
import type { AuditLog, Invitation, Role } from '../db/schema.ts';
import { type Tx, withSystem } from '../db/tenant.ts';
import { AppError } from '../http/errors.ts';
import type { RequestMeta } from '../http/request-meta.ts';
import { revokeInvitationsSentBy } from '../users/credentials.repository.ts';
import {
  findInvitationByTokenHashForUpdate,
  inviterRoleNow,
  revokeInvitations,
} from './invitation.repository.ts';
import { mayInviteAs, rolesNotGrantableBy } from './roles.ts';

export type AuthorityLoss = 'inviter_role_changed' | 'inviter_removed' | 'inviter_disabled';

/**
 * Revokes `inviter`'s pending invitations that someone holding `roleNow` (null: no longer a
 * member, or disabled) could not grant — in `orgId`, or in every org when it is omitted. Runs in
 * the caller's transaction; answers how many were revoked.
 */
export async function revokeInvitationsBeyondAuthority(
  tx: Tx,
  meta: RequestMeta,
  actor: { actor_user_id: string; actor_type: AuditLog['actor_type'] },
  inviter: { userId: string; roleNow: Role | null; orgId?: string },
  reason: AuthorityLoss,
): Promise<number> {
  const revoked = await revokeInvitationsSentBy(
    tx,
    {
      invitedBy: inviter.userId,
      roles: rolesNotGrantableBy(inviter.roleNow),
      orgId: inviter.orgId,
    },
    actor.actor_user_id,
  );
  await recordRevocations(
    tx,
    meta,
    actor,
    { action: 'invitation.revoke', target_type: 'invitation' },
    revoked,
    (inv) => ({ reason, inviter: inviter.userId, role: inv.role }),
  );
  return revoked.length;
}

/** Inside the accept transaction: refuses an invitation its inviter may no longer grant. */
export async function assertInviterAuthority(tx: Tx, inv: Invitation): Promise<void> {
  if (!mayInviteAs(await inviterRoleNow(tx, inv.org_id, inv.invited_by), inv.role)) {
    throw new AppError('invitation_authority_lost');
  }
}

/**
 * Before the accept transaction, in its own: when the inviter may no longer grant the
 * invitation's role, revokes it (committed, audited as a system act) and then refuses it.
 */
export async function settleInviterAuthority(
  auth: AuthContext,
  tokenHash: string,
  meta: RequestMeta,
): Promise<void> {
  const lost = await withSystem(auth.database, async (tx) => {
    const inv = await findInvitationByTokenHashForUpdate(tx, tokenHash);
    if (!inv || inv.accepted_at || inv.revoked_at || inv.expires_at.getTime() <= Date.now()) {
      return false;
    }
    if (mayInviteAs(await inviterRoleNow(tx, inv.org_id, inv.invited_by), inv.role)) return false;
    await revokeInvitations(tx, inv.org_id, { id: inv.id }, null);
    await recordAudit(tx, meta, {
      org_id: inv.org_id,
      actor_user_id: null,
      actor_type: 'system',
      action: 'invitation.revoke',
      target_type: 'invitation',
      target_id: inv.id,
      outcome: 'success',
      metadata: { reason: 'inviter_lost_authority', inviter: inv.invited_by, role: inv.role },
    });
    return true;
  });
  if (lost) throw new AppError('invitation_authority_lost');
}
