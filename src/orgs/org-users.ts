// Admin-created users (the source documents' /api/create_user): an owner or admin adds a person
// to the current org by address. Anyone can found an org and so be an owner, which makes this a
// public door; it therefore:
//
// - never tells whether the address has an account: a new address gets an account (a member of
//   the org, without a password) and a mailed single-use set-password link (a `set_password`
//   user token, stored hashed, valid SET_PASSWORD_TTL_DAYS, redeemed by
//   POST /api/auth/password/reset); an address that has an account anywhere gets an invitation
//   to this org instead. Both answer the same `202 {email, role}`, after the same work.
// - never lets the admin choose the password: the account cannot log in until its mailbox owner
//   sets one through the link, which is also the first proof of mailbox control
//   (src/auth/mailbox-proof.ts). An admin cannot pre-claim an address and arm it with their TOTP.
// - is limited per acting person and per org (RATE_LIMIT_USER_CREATE_ACTOR / _ORG), counted
//   before anything is looked up, for new and existing addresses alike.
// - retires, in the same transaction, the org's pending invitations of a new address it makes a
//   member (one `invitation.revoke` entry each, reason `member_added`): their links would only
//   answer 409 already_member; they answer 410 invitation_revoked and leave the list.
// - stays open with SIGNUP_ENABLED=false: it is an admin route, and with invitations the way
//   people get in when public sign-up is off.
//
// It runs under the admin's own tenant context; the database admits exactly this (see the 0005
// migration): a plain account (never a superuser), and a set-password token only for a member of
// the admin's org who has no password yet.
import { auditActor } from '../access/actor.ts';
import { insertMembership } from '../access/membership.repository.ts';
import { assertEmailDomainAllowed, readSettings } from '../access/org-policy.ts';
import { requirePermission } from '../access/permissions.ts';
import { type Principal, tenantOf } from '../access/principal.ts';
import { lockStanding } from '../access/standing.ts';
import { recordAct } from '../audit/audit.ts';
import type { AuthContext } from '../auth/auth-context.ts';
import { invalidEmail } from '../auth/register.ts';
import { insertUserToken } from '../auth/user-token.repository.ts';
import { generateToken, hashToken } from '../crypto/tokens.ts';
import type { Role } from '../db/schema.ts';
import { withTenant } from '../db/tenant.ts';
import { AppError } from '../http/errors.ts';
import { newId } from '../http/ids.ts';
import type { RequestMeta } from '../http/request-meta.ts';
import { visibleOrNone } from '../http/schemas.ts';
import { normalizeEmail } from '../mail/email-address.ts';
import { setPassword as setPasswordMail } from '../mail/templates.ts';
import { insertUserIfAddressFree } from '../users/user.repository.ts';
import { lockInvitationsOfAddress } from './invitation.repository.ts';
import {
  lockAddress,
  mailInvitation,
  retireInvitationsOfMember,
  type StagedInvitation,
  stageInvitation,
} from './invitations.ts';
import { findMemberByEmail } from './member.repository.ts';
import { assertMayGrant } from './roles.ts';

const DAY_MS = 86_400_000;

export interface CreateOrgUserInput {
  email: string;
  full_name?: string;
  role: Role;
}

type Outcome =
  | { kind: 'account'; token: string; orgName: string }
  | { kind: 'invitation'; staged: StagedInvitation };

export async function createOrgUser(
  auth: AuthContext,
  p: Principal,
  input: CreateOrgUserInput,
  meta: RequestMeta,
): Promise<{ email: string; role: Role }> {
  requirePermission(p, 'members:manage');
  assertMayGrant(p.role, input.role);
  const email = normalizeEmail(input.email);
  if (!email) throw invalidEmail();
  // The person first: one admin's refused attempts must not spend the rest of the org's budget.
  await auth.limiter.consume('user_create_actor', p.userId);
  await auth.limiter.consume('user_create_org', p.orgId);
  // An address with an account is mailed an invitation: one address is mailed no more often this
  // way than by invitations. Spent for every address alike, so the 429 tells none apart.
  await auth.limiter.consume('invite_address', `${p.orgId}:${email}`);
  const fullName = visibleOrNone(input.full_name) ?? null;

  const outcome = await withTenant(auth.database, tenantOf(p), async (tx): Promise<Outcome> => {
    // Judged under the org's and the account's locks (src/access/standing.ts), with the role
    // held now: a removed, demoted or disabled admin's stale token, or a suspension in between,
    // creates nothing. Only a member adds people: an address with an account gets an invitation,
    // which carries its inviter's membership (stageInvitation), so the superuser acting in an org
    // it is no member of could add only new addresses, and its answer would tell the two apart
    // (the route answers alike whether or not the address has an account).
    const standing = await lockStanding(tx, p.orgId, p.userId);
    const role = standing.role;
    if (role === null) {
      throw new AppError(
        'forbidden',
        standing.superuser
          ? 'Only a member of this organization can add people to it'
          : 'You are not an active member of this organization',
      );
    }
    requirePermission({ ...p, role }, 'members:manage');
    assertMayGrant(role, input.role);
    const org = standing.org;
    assertEmailDomainAllowed(readSettings(org.settings), email);
    // The org's own members are no secret to its admins.
    const member = await findMemberByEmail(tx, p.orgId, email);
    if (member?.status === 'active') throw new AppError('already_member');

    // The lock order (invitation-accept.ts acceptLocked): the org and the admin's account are
    // locked, the address's invitations into the org come next, and only then the account is
    // written. An accept of one of them creates that account after locking its invitation: the
    // other way round, each would hold what the other waits for (40P01). An accept that got there
    // first has committed once this returns: its account exists and the address is a member.
    // The address's invitation lock comes before its invitations, as in stageInvitation (which
    // takes it again below when the address has an account): taken only there, after these row
    // locks, an invite of the address holding it and waiting for them would deadlock with this.
    // Held from here, an invitation of the address being sent at the same moment has committed
    // first (and is locked, then retired or replaced, below) or waits for this one to commit.
    await lockAddress(tx, p.orgId, email);
    await lockInvitationsOfAddress(tx, p.orgId, email);
    const userId = newId();
    if (!(await insertUserIfAddressFree(tx, { id: userId, email, full_name: fullName }))) {
      // The address has an account somewhere: its owner decides, through an invitation.
      const staged = await stageInvitation(tx, auth, p, org, { email, role: input.role }, meta, {
        via: 'user_create',
      });
      return { kind: 'invitation', staged };
    }
    await insertMembership(tx, p.orgId, userId, input.role);
    const token = generateToken(32);
    await insertUserToken(tx, {
      id: newId(),
      user_id: userId,
      purpose: 'set_password',
      token_hash: hashToken(token),
      expires_at: new Date(Date.now() + auth.config.orgs.setPasswordTtlDays * DAY_MS),
      metadata: { org_id: p.orgId, created_by: p.userId },
    });
    await recordAct(tx, meta, p, {
      action: 'user.create',
      target_type: 'user',
      target_id: userId,
      metadata: { email, role: input.role, password_set: false },
    });
    // A member now: the links the address was sent into the org would only answer 409.
    await retireInvitationsOfMember(
      tx,
      meta,
      auditActor(p),
      { orgId: p.orgId, email, userId },
      'user_create',
    );
    return { kind: 'account', token, orgName: org.name };
  });

  // After the commit: no mail for a row that does not exist.
  if (outcome.kind === 'invitation') {
    mailInvitation(auth, outcome.staged);
  } else {
    auth.mailer?.send({
      to: email,
      ...setPasswordMail({
        publicUrl: auth.config.publicUrl,
        token: outcome.token,
        orgName: outcome.orgName,
      }),
    });
  }
  return { email, role: input.role };
}
