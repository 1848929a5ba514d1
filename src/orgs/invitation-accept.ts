// Accepting an invitation: POST /api/invitations/accept {token, password?, full_name?}.
//
// - An address whose account is verified joins only when the caller is logged in as that account
//   (a leaked link must not add someone else's login to the org, and must not reveal more than
//   "log in first").
// - An address whose account was never verified may have been pre-claimed by someone else
//   (anyone can register an address, any org owner can create one), so a session as that address
//   proves nothing. The token, mailed to the address, is the proof: the accepter chooses a new
//   password, the first proof of mailbox control purges every credential made before it
//   (src/auth/mailbox-proof.ts), and the accepter gets a fresh session in the org.
// - Nobody logged in as a different account accepts an invitation for an existing account.
// - An address without an account gets one (the mail proved the address, so it is verified),
//   with a password that passes the password rules, and a session in the org — this works with
//   public sign-up turned off: an invitation is one of the two ways in then.
// - The token works once: the row is locked and marked in the same transaction, so two
//   concurrent accepts cannot both succeed. Expired, revoked and used tokens are refused with
//   their own codes; an unknown one is `invalid_token`.
// - Locks in one order with every other flow that locks invitations: the org, then the account,
//   then the invitation (acceptLocked says why): a concurrent revoke, re-invite, removal, disable
//   or suspension serialises with the accept, and the second gets its answer, never a deadlock.
// - The inviter must still be an active member who may grant the role (invitation-authority.ts).
// - Joining retires the address's other pending invitations into the org (audited, reason
//   `member_added`), as an admin creating the account does (org-users.ts): a member's link would
//   only answer 409 already_member; now it answers 410 invitation_revoked and is off the list.
//   Since migration 0030 an address has at most one open invitation into an org (invitations.ts
//   lockAddress), so the link accepted leaves none; the retirement stays as the second line.
import { isPerson, personActor } from '../access/actor.ts';
import { findActiveMembership, findOrgForShare } from '../access/membership.repository.ts';
import {
  assertEmailDomainAllowed,
  mfaEnrollmentPending,
  readSettings,
} from '../access/org-policy.ts';
import type { Principal } from '../access/principal.ts';
import { recordAct, recordAuditAlone } from '../audit/audit.ts';
import type { AuthContext } from '../auth/auth-context.ts';
import { proveMailboxControl } from '../auth/mailbox-proof.ts';
import { checkNewDevice } from '../auth/new-device.ts';
import { dummyVerify, verifyPassword } from '../auth/password.ts';
import { PASSWORD_BOUND_PURPOSES } from '../auth/password-reset.ts';
import { hashAllowedPassword } from '../auth/password-rules.ts';
import {
  openSession,
  type SessionSubject,
  type TokenPair,
  tokenPair,
} from '../auth/session-issue.ts';
import { retireUserTokens } from '../auth/user-token.repository.ts';
import { hashToken } from '../crypto/tokens.ts';
import { isUniqueViolation } from '../db/errors.ts';
import type { Invitation, Org, Role, User } from '../db/schema.ts';
import { type Tx, withSystem, withSystemRead } from '../db/tenant.ts';
import { AppError } from '../http/errors.ts';
import { newId } from '../http/ids.ts';
import type { RequestMeta } from '../http/request-meta.ts';
import { visibleOrNone } from '../http/schemas.ts';
import { reserveCodeAttempt } from '../mfa/code-attempts.ts';
import { factorFromCode, proveSecondFactor } from '../mfa/second-factor.ts';
import { clientKey } from '../security/client-key.ts';
import {
  type Reservation,
  reserveInvitationAcceptance,
  type SignUpAttempt,
} from '../security/rate-limits.ts';
import {
  findUserByEmail,
  findUserById,
  insertUser,
  setPasswordHash,
} from '../users/user.repository.ts';
import {
  findInvitationByTokenHash,
  lockInvitationsOfAddress,
  markInvitationAccepted,
} from './invitation.repository.ts';
import { assertInviterAuthority, settleInviterAuthority } from './invitation-authority.ts';
import { retireInvitationsOfMember } from './invitations.ts';
import { activateMembership } from './member.repository.ts';

export type AcceptResult =
  | { kind: 'joined'; user: User; org: Org; role: Role }
  | { kind: 'created'; user: User; org: Org; role: Role; tokens: TokenPair };

/** Who the invited address belongs to, as seen before and again under the lock. */
type Holder = 'none' | 'verified' | 'unverified';

const holderOf = (u: User | undefined): Holder =>
  !u ? 'none' : u.email_verified_at ? 'verified' : 'unverified';

function assertPending(inv: Invitation): void {
  if (inv.accepted_at) throw new AppError('invitation_used');
  if (inv.revoked_at) throw new AppError('invitation_revoked');
  if (inv.expires_at.getTime() <= Date.now()) throw new AppError('invitation_expired');
}

const wrongAccount = (signedIn = false) =>
  new AppError(
    'invitation_wrong_account',
    signedIn
      ? 'This invitation is for another account: log out, then open the link again'
      : "This invitation is for an existing account: log in as that address, then accept it (or send the account's password, and its MFA code if it has MFA)",
  );

/** What a session-less accept proved of a verified account: its password (and the code sent). */
interface AccountProof {
  /** The hash the password was checked against: a change or reset since refuses the accept. */
  passwordHash: string;
  /** Whether the account had MFA when the password was checked (a code attempt was reserved). */
  mfa: boolean;
  code?: string;
}

/**
 * A verified account's own password, checked as a login checks it: counted before any hash work on
 * the login limits (the address's and the IP's), a wrong one indistinguishable from a missing
 * hash, and answered as any caller who is not the account is (403 invitation_wrong_account). This
 * is how an account that belongs to no org now (removed from its only one: a login needs an org
 * to open a session in) takes an invitation back in; anyone else may use it too, as a login
 * followed by the accept would.
 */
async function proveAccountPassword(
  auth: AuthContext,
  email: string,
  userId: string,
  password: string,
  meta: RequestMeta,
): Promise<{ passwordHash: string; mfa: boolean }> {
  const attempt = await auth.loginGuard.reserve({ account: email, ip: clientKey(meta.ip) });
  const user = await withSystemRead(auth.database, (tx) => findUserById(tx, userId));
  const ok = user?.password_hash
    ? await verifyPassword(user.password_hash, password)
    : await dummyVerify(password, auth.config.auth.argon2);
  if (!user?.password_hash || !ok) {
    await attempt.failed();
    throw new AppError(
      'invitation_wrong_account',
      "That is not this account's password: log in as the invited address, or send its password",
    );
  }
  await attempt.succeeded();
  return { passwordHash: user.password_hash, mfa: user.mfa_enabled_at !== null };
}

export async function acceptInvitation(
  auth: AuthContext,
  caller: Principal | null,
  input: { token: string; password?: string; full_name?: string; code?: string },
  meta: RequestMeta,
): Promise<AcceptResult> {
  if (input.token.length < 20 || input.token.length > 200) throw new AppError('invalid_token');
  const tokenHash = hashToken(input.token);

  // System path: the token is the only key; no tenant is known until it names its org. This
  // first look takes no lock, so the slow password hash below happens outside the transaction.
  const peek = await withSystem(auth.database, async (tx) => {
    const inv = await findInvitationByTokenHash(tx, tokenHash);
    if (!inv) return undefined;
    const user = await findUserByEmail(tx, inv.email);
    return { inv, holder: holderOf(user), userId: user?.id };
  });
  if (!peek) throw new AppError('invalid_token');

  // Choosing a password here costs a hash: a refused attempt counts on the sign-up refusals'
  // limit; an account created (or claimed) here is no sign-up's, it counts on the org's limit of
  // accounts added (reserveInvitationAcceptance).
  let signUp: SignUpAttempt | undefined;
  // A session-less accept of an account with MFA: its code is a guess at a 6-digit number,
  // counted like one at login (mfa_verify per user, login_ip per address).
  let codeAttempt: Reservation | undefined;
  try {
    assertPending(peek.inv);
    await settleInviterAuthority(auth, tokenHash, meta);
    const fullName = visibleOrNone(input.full_name) ?? null;
    let passwordHash: string | undefined;
    const person = caller && isPerson(caller) ? caller : null;
    if (peek.holder !== 'none' && person && person.userId !== peek.userId) {
      throw wrongAccount(true);
    }
    let proven: AccountProof | undefined;
    if (peek.holder === 'verified') {
      if (!person) {
        if (!input.password || !peek.userId) throw wrongAccount();
        const checked = await proveAccountPassword(
          auth,
          peek.inv.email,
          peek.userId,
          input.password,
          meta,
        );
        // Asked only once the password is right: whether the account has MFA is its own.
        if (checked.mfa && !input.code) {
          const why = 'is required: this account uses two-factor authentication';
          throw new AppError('validation_failed', `A code ${why}`, {
            errors: [{ field: 'code', message: why }],
          });
        }
        if (checked.mfa) codeAttempt = await reserveCodeAttempt(auth, peek.userId, meta.ip);
        proven = { passwordHash: checked.passwordHash, mfa: checked.mfa, code: input.code };
      }
    } else {
      // A new account, or one whose address this token is about to prove: either way the
      // accepter chooses the password (a pre-claimed account's old one must not survive).
      if (!input.password) {
        const why =
          peek.holder === 'none'
            ? 'is required to create your account'
            : 'is required: choose one to confirm this address is yours';
        throw new AppError('validation_failed', `A password ${why}`, {
          errors: [{ field: 'password', message: why }],
        });
      }
      signUp = await reserveInvitationAcceptance(auth.limiter, clientKey(meta.ip), peek.inv.org_id);
      passwordHash = await hashAllowedPassword(auth, input.password, {
        email: peek.inv.email,
        fullName,
      });
    }
    const out = await withSystem(auth.database, (tx) =>
      acceptLocked(
        tx,
        auth,
        caller,
        { tokenHash, orgId: peek.inv.org_id, email: peek.inv.email },
        { holder: peek.holder, passwordHash, fullName, proven },
        meta,
      ),
    );
    auth.revocation.add(out.endedSessions);
    auth.apiKeyRevocations.add(out.revokedApiKeys);
    await signUp?.created();
    await codeAttempt?.succeeded();
    // A session opened with the account's password: its owner hears of a new device, as after a
    // login.
    if (proven && out.result.kind === 'created') {
      checkNewDevice(
        auth,
        out.result.user,
        { orgId: out.result.org.id, role: out.result.role },
        meta,
      );
    }
    return out.result;
  } catch (err) {
    const code = err instanceof AppError ? err.code : isUniqueViolation(err) ? 'email_taken' : null;
    await (code ? signUp?.refused() : signUp?.release());
    // Only a code judged wrong (or spent) is a guess; any other refusal gives the attempt back.
    await (code === 'invalid_mfa' || code === 'mfa_code_reused'
      ? codeAttempt?.failed()
      : codeAttempt?.release());
    if (code && code !== 'validation_failed' && code !== 'weak_password') {
      await recordAuditAlone(auth.database, meta, {
        org_id: peek.inv.org_id,
        actor_user_id: caller && isPerson(caller) ? caller.userId : null,
        actor_type: caller && isPerson(caller) ? 'user' : 'anonymous',
        action: 'invitation.accept',
        target_type: 'invitation',
        target_id: peek.inv.id,
        outcome: 'failure',
        metadata: { reason: code },
      });
    }
    if (code === 'email_taken' && !(err instanceof AppError)) throw new AppError('email_taken');
    throw err;
  }
}

async function acceptLocked(
  tx: Tx,
  auth: AuthContext,
  caller: Principal | null,
  token: { tokenHash: string; orgId: string; email: string },
  fresh: { holder: Holder; passwordHash?: string; fullName: string | null; proven?: AccountProof },
  meta: RequestMeta,
): Promise<{ result: AcceptResult; endedSessions: string[]; revokedApiKeys: string[] }> {
  // The lock order, for every flow that locks an invitation together with its org or an account:
  // the org's row, then account rows, then invitation rows. The others already take them so: a
  // member's removal or role change (the org, the caller, then the invitations the member sent),
  // a revoke and a re-invite (the org, the caller's account, then the invitation: invitations.ts;
  // a re-invite, and an admin creating an account, take the address's advisory lock between the
  // account and the invitations: lockAddress, which no accept takes, so it adds no cycle),
  // a disable and a first proof of mailbox control (the account, then the invitations it sent),
  // an admin creating an account (the org, the admin's account, then the address's invitations,
  // before the new account is written: this accept writes it after its invitations too).
  // Threat: in any other order two of them can each hold what the other waits for, and PostgreSQL
  // aborts one (40P01, a 503) instead of giving it the answer its turn deserves — the accept used
  // to lock the invitation before the account, and deadlocked with a revoke by that same account
  // (an admin revoking the invitation that names their own address while accepting it). In one
  // order they serialise: whoever locks first commits wholly before the other reads on.
  // - The org share-locked: a suspension, or the inviter's removal or role change, commits wholly
  //   before this reads on, or waits and then ends the membership and session this writes.
  // - The account the invitation names locked for update (claiming it rewrites the row) and read
  //   as it is once locked: a disable commits before this, or waits and then ends what this opens.
  // - The invitations last: a revoke, re-invite or admin creation of the account that got to
  //   them first has committed, and this answers 410 invitation_revoked; one that comes after
  //   finds no pending invitation (404; a re-invite or an admin creation: 409 already_member).
  const org = await findOrgForShare(tx, token.orgId);
  if (!org) throw new AppError('invalid_token');
  const existing = await findUserByEmail(tx, token.email, { forUpdate: true });
  // Every invitation of the address into the org, in id order: those still pending are retired
  // as the address joins (markAccepted), and an accept and an admin creating the address's
  // account (org-users.ts) lock them in the same order (so did two accepts of two links to one
  // address, which the database no longer admits: migration 0030).
  const inv = (await lockInvitationsOfAddress(tx, org.id, token.email)).find(
    (i) => i.token_hash === token.tokenHash,
  );
  if (!inv) throw new AppError('invalid_token');
  assertPending(inv);
  await assertInviterAuthority(tx, inv);
  // The kill switch: no one joins (nor gets a session in) a suspended org; the invitation waits.
  if (org.suspended_at) throw new AppError('org_suspended');
  // The policy may have tightened since the invitation was sent.
  assertEmailDomainAllowed(readSettings(org.settings), inv.email);

  // The account appeared, or got verified, since the first look: its checks no longer hold.
  if (holderOf(existing) !== fresh.holder) {
    throw new AppError('conflict', 'Try accepting the invitation again');
  }
  if (existing && fresh.holder === 'unverified') {
    return claimAndJoin(tx, auth, caller, inv, org, existing, fresh, meta);
  }
  if (existing && fresh.proven) {
    return joinWithPassword(tx, auth, inv, org, existing, fresh.proven, meta);
  }
  if (existing) {
    if (!caller || !isPerson(caller) || caller.userId !== existing.id) {
      throw wrongAccount(!!caller && isPerson(caller));
    }
    if (existing.status !== 'active') throw new AppError('account_disabled');
    if (await findActiveMembership(tx, org.id, existing.id)) throw new AppError('already_member');
    await activateMembership(tx, org.id, existing.id, inv.role);
    await markAccepted(tx, meta, inv, existing);
    await auditAccepted(tx, meta, inv, existing, { new_account: false });
    return {
      result: { kind: 'joined', user: existing, org, role: inv.role },
      endedSessions: [],
      revokedApiKeys: [],
    };
  }

  // The account did not exist at the first look either, so the password was checked and hashed.
  if (!fresh.passwordHash) throw new AppError('conflict', 'Try accepting the invitation again');
  const userId = newId();
  const user = await insertUser(tx, {
    id: userId,
    email: inv.email,
    password_hash: fresh.passwordHash,
    full_name: fresh.fullName,
    // Only the holder of the mailed link gets here: the address is proven.
    email_verified_at: new Date(),
  });
  return {
    result: await joinWithSession(tx, auth, inv, org, user, ['pwd'], meta, { new_account: true }),
    endedSessions: [],
    revokedApiKeys: [],
  };
}

/**
 * A verified account that proved itself with its password (proveAccountPassword) and, when it has
 * MFA, its code, under the account's lock: joins, and gets a session in the org, as a login would
 * open one (`amr` says what was proven). The password must still be the account's: a change or
 * reset committed since the check ended what it proved.
 */
async function joinWithPassword(
  tx: Tx,
  auth: AuthContext,
  inv: Invitation,
  org: Org,
  existing: User,
  proven: AccountProof,
  meta: RequestMeta,
): Promise<{ result: AcceptResult; endedSessions: string[]; revokedApiKeys: string[] }> {
  if (existing.password_hash !== proven.passwordHash) throw wrongAccount();
  if (existing.status !== 'active') throw new AppError('account_disabled');
  if (await findActiveMembership(tx, org.id, existing.id)) throw new AppError('already_member');
  let amr = ['pwd'];
  if (existing.mfa_enabled_at) {
    // MFA turned on since the first look: the code it now needs was not asked for, nor counted
    // (a code attempt is reserved only for an account seen with MFA).
    if (!proven.mfa || !proven.code) {
      throw new AppError('conflict', 'Try accepting the invitation again');
    }
    const factor = factorFromCode(proven.code);
    const proof = await proveSecondFactor(tx, auth, existing, factor);
    if (!proof.ok) throw new AppError(proof.reused ? 'mfa_code_reused' : 'invalid_mfa');
    amr = 'totp' in factor ? ['pwd', 'mfa', 'otp'] : ['pwd', 'mfa'];
  }
  return {
    result: await joinWithSession(tx, auth, inv, org, existing, amr, meta, {
      new_account: false,
      proven_by: amr.includes('mfa') ? 'password_and_mfa' : 'password',
    }),
    endedSessions: [],
    revokedApiKeys: [],
  };
}

/**
 * The token proves the mailbox of an account that never proved it: purge what was set up before
 * (sessions, MFA, API keys), replace the password with the accepter's, join, and open a session.
 */
async function claimAndJoin(
  tx: Tx,
  auth: AuthContext,
  caller: Principal | null,
  inv: Invitation,
  org: Org,
  existing: User,
  fresh: { passwordHash?: string },
  meta: RequestMeta,
): Promise<{ result: AcceptResult; endedSessions: string[]; revokedApiKeys: string[] }> {
  if (caller && isPerson(caller) && caller.userId !== existing.id) throw wrongAccount(true);
  if (!fresh.passwordHash) throw new AppError('conflict', 'Try accepting the invitation again');
  if (existing.status !== 'active') throw new AppError('account_disabled');
  if (await findActiveMembership(tx, org.id, existing.id)) throw new AppError('already_member');
  const proof = await proveMailboxControl(tx, existing.id, 'invitation', meta);
  await setPasswordHash(tx, existing.id, fresh.passwordHash);
  // The password was replaced: what dies with a password (links to set another, logins half-done
  // with the old one) dies here too, as after a change or reset.
  await retireUserTokens(tx, existing.id, PASSWORD_BOUND_PURPOSES);
  // As the purge left it (no MFA): the session's enrolment rule reads it.
  const user = (await findUserById(tx, existing.id)) ?? existing;
  return {
    result: await joinWithSession(tx, auth, inv, org, user, ['pwd'], meta, {
      new_account: false,
      mailbox_proven: proof.first,
    }),
    endedSessions: proof.endedSessions,
    revokedApiKeys: proof.revokedApiKeys,
  };
}

/**
 * The end of every accept that answers tokens: `user` (locked, its standing judged by the caller)
 * joins the org with the invitation's role, the invitation is used, and a session opens in the
 * org as a login's would, with `amr` as the accept proved it (the org's MFA policy pins it when
 * it asks for a factor not proven); audited with the session's id.
 */
async function joinWithSession(
  tx: Tx,
  auth: AuthContext,
  inv: Invitation,
  org: Org,
  user: User,
  amr: string[],
  meta: RequestMeta,
  audit: Omit<AcceptAudit, 'session_id'>,
): Promise<AcceptResult> {
  await activateMembership(tx, org.id, user.id, inv.role);
  await markAccepted(tx, meta, inv, user);
  const subject: SessionSubject = {
    userId: user.id,
    orgId: org.id,
    role: inv.role,
    superuser: user.is_superuser,
    amr,
    mfaPending: mfaEnrollmentPending(user, amr, org.settings, inv.role),
  };
  const { sessionId, refreshToken } = await openSession(tx, auth, subject, meta);
  await auditAccepted(tx, meta, inv, user, { ...audit, session_id: sessionId });
  const tokens = await tokenPair(auth, subject, sessionId, refreshToken);
  return { kind: 'created', user, org, role: inv.role, tokens };
}

/**
 * The invitation used by `accepter`, who has just joined its org: the address's other pending
 * invitations into the org are retired with it (their links would only answer 409).
 */
async function markAccepted(
  tx: Tx,
  meta: RequestMeta,
  inv: Invitation,
  accepter: Pick<User, 'id' | 'is_superuser'>,
): Promise<void> {
  await markInvitationAccepted(tx, inv.id, accepter.id);
  await retireInvitationsOfMember(
    tx,
    meta,
    personActor({ userId: accepter.id, superuser: accepter.is_superuser }),
    { orgId: inv.org_id, email: inv.email, userId: accepter.id },
    'invitation_accept',
  );
}

/** What an accept's audit entry says of it, beside the role and the inviter. */
interface AcceptAudit {
  new_account: boolean;
  mailbox_proven?: boolean;
  session_id?: string;
  proven_by?: 'password' | 'password_and_mfa';
}

/** The accept, recorded as the accepting account's act in the invitation's org. */
function auditAccepted(
  tx: Tx,
  meta: RequestMeta,
  inv: Invitation,
  accepter: Pick<User, 'id' | 'is_superuser'>,
  metadata: AcceptAudit,
): Promise<void> {
  const actor = { orgId: inv.org_id, userId: accepter.id, superuser: accepter.is_superuser };
  return recordAct(tx, meta, actor, {
    action: 'invitation.accept',
    target_type: 'invitation',
    target_id: inv.id,
    metadata: { role: inv.role, invited_by: inv.invited_by, ...metadata },
  });
}
