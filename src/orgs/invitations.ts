// Inviting people into the current org: create (and mail), list the pending ones, revoke.
//
// The mailed token is 256 random bits, stored only as SHA-256, valid once for
// INVITATION_TTL_DAYS. Inviting an address again revokes its earlier pending invitation, so at
// most one live link per address exists: the database holds it as an invariant (at most one open
// invitation per org and address, the unique index of migration 0030), and invitations of one
// address are serialised (lockAddress), so two sent at once act as one after the other: the
// later replaces the earlier. Nobody can invite with a role above their own. An
// address that becomes a member another way (an admin creates its account, or it accepts one of
// its links) has its pending invitations into the org retired with it (retireInvitationsOfMember).
//
// Locks: the org, then the caller's account, then the address's invitation lock (an invite only),
// then the invitations (invitation-accept.ts acceptLocked states the order and why): an invite or
// revoke racing an accept of the same invitation waits for it and then answers for what it finds,
// never a deadlock.
import { findActiveMembership } from '../access/membership.repository.ts';
import { assertEmailDomainAllowed, readSettings } from '../access/org-policy.ts';
import { requirePermission } from '../access/permissions.ts';
import { type Principal, tenantOf } from '../access/principal.ts';
import { lockCaller } from '../access/standing.ts';
import { recordAct, recordRevocations } from '../audit/audit.ts';
import type { AuthContext } from '../auth/auth-context.ts';
import { invalidEmail } from '../auth/register.ts';
import { generateToken, hashToken } from '../crypto/tokens.ts';
import { lockNameForTransaction } from '../db/advisory-lock.ts';
import { violatedUniqueIndex } from '../db/errors.ts';
import type { AuditLog, Invitation, Org, Role } from '../db/schema.ts';
import { type Tx, withTenant } from '../db/tenant.ts';
import { AppError, notFound } from '../http/errors.ts';
import { newId } from '../http/ids.ts';
import { decodeCursor, page } from '../http/pagination.ts';
import type { RequestMeta } from '../http/request-meta.ts';
import { normalizeEmail } from '../mail/email-address.ts';
import { invitation as invitationMail } from '../mail/templates.ts';
import { findUserById } from '../users/user.repository.ts';
import {
  insertInvitation,
  listPendingInvitations,
  revokeInvitations,
} from './invitation.repository.ts';
import { findMemberByEmail } from './member.repository.ts';
import { assertMayGrant } from './roles.ts';

const DAY_MS = 86_400_000;

export async function createInvitation(
  auth: AuthContext,
  p: Principal,
  input: { email: string; role: Role },
  meta: RequestMeta,
): Promise<Invitation> {
  requirePermission(p, 'invitations:manage');
  assertMayGrant(p.role, input.role);
  const email = normalizeEmail(input.email);
  if (!email) throw invalidEmail();
  // Before anything is written or mailed (each invitation mails an address of the caller's
  // choosing). The person first: an inviter past their budget spends nothing of the address's.
  await auth.limiter.consume('invite_actor', p.userId);
  await auth.limiter.consume('invite_address', `${p.orgId}:${email}`);

  const staged = await withTenant(auth.database, tenantOf(p), async (tx) => {
    // Judged with the role held now (src/access/standing.ts lockCaller): an invitation written
    // by a stale token after its inviter's demotion would outlive the revocation that demotion
    // made of the invitations beyond the new role.
    const { caller, standing } = await lockCaller(tx, p);
    requirePermission(caller, 'invitations:manage');
    assertMayGrant(caller.role, input.role);
    const org = standing.org;
    assertEmailDomainAllowed(readSettings(org.settings), email);
    return stageInvitation(tx, auth, caller, org, { email, role: input.role }, meta);
  });
  // After the commit: a mail never goes out for an invitation that does not exist.
  mailInvitation(auth, staged);
  return staged.invitation;
}

export interface StagedInvitation {
  invitation: Invitation;
  token: string;
  orgName: string;
  inviterName: string | undefined;
}

/** The advisory-lock space of lockAddress (any constant of its own; see lockCall's). */
const INVITATION_ADDRESS_LOCK_SPACE = 70_260_031;

/** The unique index that admits one open invitation per (org, email): migration 0030. */
const ONE_OPEN_PER_ADDRESS = 'invitations_one_open_per_address';

/**
 * Invariant: at most one open invitation (neither accepted nor revoked) per org and address, held
 * by the database (ONE_OPEN_PER_ADDRESS). Two invitations of one address written at once must act
 * as if sent one after the other — the later revokes the earlier (`replaced: 1`) — rather than
 * both revoking the nothing they see and inserting (two live links; with the index: a unique
 * violation). This transaction-scoped advisory lock on (org, address) serialises them: the second
 * waits until the first commits, and its revoke, a new statement, then sees the first's row.
 *
 * Its place in the lock order (invitation-accept.ts acceptLocked): after the org's and the
 * caller's account locks, before any invitation row lock. Only the flows that write an
 * invitation take it (stageInvitation; createOrgUser before it locks the address's invitations);
 * accept, revoke, a removal or a disable never do, and whoever holds it waits only for locks those
 * take after their org and account locks, so no cycle. Taking it again in one transaction is
 * free. The lock is the pair's name in a space of its own (a hash collision with another address
 * only makes two transactions wait in turn).
 */
export async function lockAddress(tx: Tx, orgId: string, email: string): Promise<void> {
  await lockNameForTransaction(tx, INVITATION_ADDRESS_LOCK_SPACE, `${orgId}:${email}`);
}

/**
 * Inside the caller's transaction (org and caller locked: lockCaller or lockStanding, domain
 * allowed): replaces the address's pending invitation with a new one and audits it; 409
 * already_member when the address is an active member by then. Mail it after the commit.
 */
export async function stageInvitation(
  tx: Tx,
  auth: AuthContext,
  p: Principal,
  org: Org,
  input: { email: string; role: Role },
  meta: RequestMeta,
  auditExtra: Record<string, string> = {},
): Promise<StagedInvitation> {
  // An invitation carries its inviter's authority, read again at acceptance (invitation-authority.ts):
  // an inviter with no membership here (the superuser acting in the org) could only send a link
  // that is refused when used. Refused now, as the superuser's API keys are.
  if (!(await findActiveMembership(tx, p.orgId, p.userId))) {
    throw new AppError('forbidden', 'Only a member of this organization can invite people into it');
  }
  const token = generateToken(32);
  // One invitation of this address at a time: another one being written waits here until it has
  // committed, and is then revoked below like any earlier one (lockAddress).
  await lockAddress(tx, p.orgId, input.email);
  // The lock order (invitation-accept.ts acceptLocked): the org and the caller's account are
  // locked, the address's pending invitation comes last. An accept of it that locked it first
  // has committed once this returns, so the membership is read only after it: a member by now
  // is refused (409), not sent a second link into the org they just joined. Expired ones are
  // closed too (the index sees no time); only the live ones count as replaced.
  const replaced = await revokeInvitations(
    tx,
    p.orgId,
    { email: input.email, expiredToo: true },
    p.userId,
  );
  const member = await findMemberByEmail(tx, p.orgId, input.email);
  if (member?.status === 'active') throw new AppError('already_member');
  const row = await insertInvitation(tx, {
    id: newId(),
    org_id: p.orgId,
    email: input.email,
    role: input.role,
    token_hash: hashToken(token),
    invited_by: p.userId,
    expires_at: new Date(Date.now() + auth.config.orgs.invitationTtlDays * DAY_MS),
  }).catch((err: unknown) => {
    // Only a writer that skipped lockAddress gets here (the transaction is aborted): a clear 409,
    // and the invitation is sent again, not a 500.
    if (violatedUniqueIndex(err) !== ONE_OPEN_PER_ADDRESS) throw err;
    throw new AppError(
      'conflict',
      'Another invitation of this address into the organization was sent at the same moment: send it again',
      {},
      { cause: err },
    );
  });
  await recordAct(tx, meta, p, {
    action: 'invitation.create',
    target_type: 'invitation',
    target_id: row.id,
    metadata: { email: input.email, role: input.role, replaced: replaced.length, ...auditExtra },
  });
  const inviter = await findUserById(tx, p.userId);
  return {
    invitation: row,
    token,
    orgName: org.name,
    inviterName: inviter?.full_name ?? inviter?.email,
  };
}

/** How a person whose address had pending invitations into an org became its member. */
export type JoinedVia = 'user_create' | 'invitation_accept';

/**
 * Once `member` has become a member of the org by another way than these links (an admin created
 * their account, or they accepted another link to the org), in the same transaction: the org's
 * pending invitations of their address are revoked, one `invitation.revoke` entry each (reason
 * `member_added`). Left pending, each stayed listed and its link answered 409 already_member.
 * The caller has locked them (lockInvitationsOfAddress) after the org's and the accounts' locks.
 */
export async function retireInvitationsOfMember(
  tx: Tx,
  meta: RequestMeta,
  actor: { actor_user_id: string; actor_type: AuditLog['actor_type'] },
  member: { orgId: string; email: string; userId: string },
  via: JoinedVia,
): Promise<number> {
  const revoked = await revokeInvitations(
    tx,
    member.orgId,
    { email: member.email },
    actor.actor_user_id,
  );
  await recordRevocations(
    tx,
    meta,
    actor,
    { action: 'invitation.revoke', target_type: 'invitation' },
    revoked,
    (inv) => ({
      reason: 'member_added',
      via,
      user_id: member.userId,
      role: inv.role,
      inviter: inv.invited_by,
    }),
  );
  return revoked.length;
}

export function mailInvitation(auth: AuthContext, s: StagedInvitation): void {
  auth.mailer?.send({
    to: s.invitation.email,
    ...invitationMail({
      publicUrl: auth.config.publicUrl,
      token: s.token,
      orgName: s.orgName,
      inviterName: s.inviterName,
      role: s.invitation.role,
      days: auth.config.orgs.invitationTtlDays,
    }),
  });
}

export async function listInvitations(
  auth: AuthContext,
  p: Principal,
  q: { limit: number; cursor?: string },
) {
  requirePermission(p, 'invitations:manage');
  const before = decodeCursor(q.cursor);
  const rows = await withTenant(auth.database, tenantOf(p), (tx) =>
    listPendingInvitations(tx, p.orgId, { limit: q.limit + 1, before }),
  );
  return page(rows, q.limit);
}

export async function revokeInvitation(
  auth: AuthContext,
  p: Principal,
  id: string,
  meta: RequestMeta,
): Promise<void> {
  requirePermission(p, 'invitations:manage');
  await withTenant(auth.database, tenantOf(p), async (tx) => {
    // Judged by the role held now: a demotion on another instance may not have reached this one.
    // The org and the caller's account are locked before the invitation (the lock order:
    // invitation-accept.ts acceptLocked), so a concurrent accept serialises with this: one that
    // got to the invitation first has committed when the update below reads it (accepted: 404),
    // one that comes after finds it revoked (410 invitation_revoked).
    const { caller } = await lockCaller(tx, p);
    requirePermission(caller, 'invitations:manage');
    const revoked = await revokeInvitations(tx, p.orgId, { id }, p.userId);
    // Unknown, another org's, already accepted, revoked or expired: all "no such pending one".
    if (revoked.length === 0) throw notFound('pending invitation');
    await recordAct(tx, meta, p, {
      action: 'invitation.revoke',
      target_type: 'invitation',
      target_id: id,
    });
  });
}
