// Members of the current org: list, change a role, remove (soft: the membership is deactivated).
//
// Invariants:
// - Only an owner may demote or remove an owner (or make someone owner), and the last active
//   owner can never be demoted or removed, not even by themselves. Every such change first locks
//   the org row, so concurrent changes cannot race past the owner count, and then judges the
//   caller by the role they hold now (a stale token's role grants nothing).
// - Removing a member or changing their role ends that user's sessions in this org at once (the
//   revocation list of this instance now, every other instance within one poll). Their next
//   login reads the membership afresh; their API keys follow the membership at every use.
// - It also revokes, in the same transaction, their pending invitations that they could no
//   longer send (invitation-authority.ts): an invitation must not outlive its inviter's authority.
// - Removing a member deletes, in the same transaction, their preferences in this org (what the
//   org's agents remember about them, src/users/preferences.ts): personal data of someone no
//   longer in the org, which its agents would otherwise use again if the person came back. Their
//   preferences in other orgs are theirs there. The removal's audit entry counts them
//   (preferences_removed), never their keys or values.
import { auditActor } from '../access/actor.ts';
import { requirePermission } from '../access/permissions.ts';
import { type Principal, tenantOf } from '../access/principal.ts';
import { lockCaller } from '../access/standing.ts';
import { recordAct } from '../audit/audit.ts';
import type { AuthContext } from '../auth/auth-context.ts';
import { revokeSessions } from '../auth/session.repository.ts';
import type { Role } from '../db/schema.ts';
import { type Tx, withTenant } from '../db/tenant.ts';
import { AppError, notFound } from '../http/errors.ts';
import { decodeCursor, encodeCursor } from '../http/pagination.ts';
import type { RequestMeta } from '../http/request-meta.ts';
import { revokeCreatorKeys } from '../users/creator-keys.ts';
import { deletePreferences } from '../users/preference.repository.ts';
import { type AuthorityLoss, revokeInvitationsBeyondAuthority } from './invitation-authority.ts';
import {
  countActiveOwners,
  deactivateMembership,
  findMember,
  listMembers,
  lockOrg,
  type MemberRow,
  setMemberRole,
} from './member.repository.ts';
import { assertMayGrant } from './roles.ts';

export async function listOrgMembers(
  auth: AuthContext,
  p: Principal,
  q: { limit: number; cursor?: string; status?: 'active' | 'deactivated'; role?: Role },
) {
  requirePermission(p, 'members:read');
  const before = decodeCursor(q.cursor);
  const rows = await withTenant(auth.database, tenantOf(p), (tx) =>
    listMembers(tx, p.orgId, { limit: q.limit + 1, before, status: q.status, role: q.role }),
  );
  const items = rows.slice(0, q.limit);
  const last = items[items.length - 1];
  return {
    items,
    next_cursor: rows.length > q.limit && last ? encodeCursor(last.user_id) : null,
  };
}

/**
 * Locks the org row, then the caller as they stand now (src/access/standing.ts lockCaller): the
 * role checks below use the role held now, never a stale token's (a demotion on another instance
 * reaches this one at its next revocation poll).
 */
async function lockOrgAndCaller(tx: Tx, p: Principal): Promise<Principal> {
  await lockOrg(tx, p.orgId);
  const { caller } = await lockCaller(tx, p);
  requirePermission(caller, 'members:manage');
  return caller;
}

/** The target's active membership, with the owner rules checked (under lockOrgAndCaller). */
async function ownerSafeTarget(
  tx: Tx,
  p: Principal,
  userId: string,
  leavesOwnerRole: boolean,
): Promise<MemberRow> {
  const target = await findMember(tx, p.orgId, userId);
  if (target?.status !== 'active') throw notFound('member');
  if (target.role === 'owner' && leavesOwnerRole) {
    if (p.role !== 'owner') throw new AppError('owner_required');
    if ((await countActiveOwners(tx, p.orgId)) <= 1) throw new AppError('last_owner');
  }
  return target;
}

export async function changeMemberRole(
  auth: AuthContext,
  p: Principal,
  userId: string,
  role: Role,
  meta: RequestMeta,
): Promise<MemberRow> {
  requirePermission(p, 'members:manage');
  assertMayGrant(p.role, role);
  const out = await withTenant(auth.database, tenantOf(p), async (tx) => {
    const caller = await lockOrgAndCaller(tx, p);
    assertMayGrant(caller.role, role);
    const target = await ownerSafeTarget(tx, caller, userId, role !== 'owner');
    if (target.role === role) return { member: target, ended: [] as string[] };
    await setMemberRole(tx, p.orgId, userId, role);
    const { ended } = await cutAccess(tx, meta, caller, userId, {
      roleNow: role,
      action: 'member.role_change',
      sessionReason: 'role_changed',
      invitationReason: 'inviter_role_changed',
      metadata: { from: target.role, to: role },
    });
    const member = await findMember(tx, p.orgId, userId);
    if (!member) throw notFound('member');
    return { member, ended };
  });
  auth.revocation.add(out.ended);
  return out.member;
}

/**
 * After a member's role went down to `roleNow` (null: removed), in the same transaction: their
 * sessions in this org end, their pending invitations beyond the new role are revoked (removed:
 * their API keys here too, and their preferences here deleted), and the act is audited with the
 * counts. Returns the ended sessions and revoked keys, for the revocation lists once committed.
 */
async function cutAccess(
  tx: Tx,
  meta: RequestMeta,
  p: Principal,
  userId: string,
  change: {
    roleNow: Role | null;
    action: 'member.role_change' | 'member.remove';
    sessionReason: 'role_changed' | 'membership_removed';
    invitationReason: AuthorityLoss;
    metadata: Record<string, string>;
  },
): Promise<{ ended: string[]; keys: string[] }> {
  const ended = await revokeSessions(tx, { userId, orgId: p.orgId }, change.sessionReason);
  const invitationsRevoked = await revokeInvitationsBeyondAuthority(
    tx,
    meta,
    auditActor(p),
    { userId, roleNow: change.roleNow, orgId: p.orgId },
    change.invitationReason,
  );
  // Removed: their keys here are revoked for good (a return to the org must not revive them). A
  // lower role keeps them: each use is narrowed to the creator's role as it is then.
  const keysRevoked =
    change.roleNow === null
      ? await revokeCreatorKeys(
          tx,
          meta,
          auditActor(p),
          { userId, orgId: p.orgId },
          'creator_removed',
        )
      : [];
  // Removed: their preferences here go too (a return to the org starts with none). Deleted after
  // the membership was deactivated (row-level security admits the row only then), under the org
  // lock every removal holds, so no second removal or role change interleaves.
  const preferencesRemoved =
    change.roleNow === null ? await deletePreferences(tx, p.orgId, userId) : 0;
  await recordAct(tx, meta, p, {
    action: change.action,
    target_type: 'user',
    target_id: userId,
    metadata: {
      ...change.metadata,
      sessions_ended: ended.length,
      invitations_revoked: invitationsRevoked,
      ...(change.roleNow === null
        ? { api_keys_revoked: keysRevoked.length, preferences_removed: preferencesRemoved }
        : {}),
    },
  });
  return { ended, keys: keysRevoked.map((k) => k.id) };
}

export async function removeMember(
  auth: AuthContext,
  p: Principal,
  userId: string,
  meta: RequestMeta,
): Promise<void> {
  requirePermission(p, 'members:manage');
  const cut = await withTenant(auth.database, tenantOf(p), async (tx) => {
    const caller = await lockOrgAndCaller(tx, p);
    const target = await ownerSafeTarget(tx, caller, userId, true);
    await deactivateMembership(tx, p.orgId, userId);
    return cutAccess(tx, meta, caller, userId, {
      roleNow: null,
      action: 'member.remove',
      sessionReason: 'membership_removed',
      invitationReason: 'inviter_removed',
      metadata: { role: target.role },
    });
  });
  auth.revocation.add(cut.ended);
  auth.apiKeyRevocations.add(cut.keys);
}
