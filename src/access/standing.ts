// A person's standing in an org, judged inside the transaction that is about to write something
// they may use there (a session, an API key, an account they create).
//
// Threat: the checks made before the write (the access token's claims, a read before the password
// hash, a read earlier in the transaction) can be overtaken by a concurrent removal, role change,
// account disable or suspension. That act ends what exists when it commits; a credential written
// beside it, after its revocations ran but committed later, survives it: a removed admin's key,
// a disabled user's session, a session in an org just suspended.
//
// Mechanism: one order of locks. The org row is share-locked first — a suspension, a member's
// removal and a role change lock it exclusively before they change anything, so they commit
// wholly before this transaction reads on or wait for it to commit (and then end what it wrote).
// Then the user row is share-locked — a disable updates it before ending sessions and revoking
// keys, so it waits the same way. The org, the membership and the account are read by the
// statement that takes the user lock, which begins once the org lock is held: a membership is
// removed or its role changed only under the org's exclusive lock (an invitation accept activates
// one under a share lock: a login racing it sees no membership yet, and fails closed), and the
// user row is read as it is once locked, so all three are current. Both statements travel in one
// flight (membership.repository.ts lockOrgAndStanding). Never call this in a transaction that
// later takes the org's exclusive lock itself (two of them would deadlock).
import type { Org, Role } from '../db/schema.ts';
import type { Tx } from '../db/tenant.ts';
import { AppError } from '../http/errors.ts';
import { lockOrgAndStanding } from './membership.repository.ts';
import type { Principal } from './principal.ts';

export interface Standing {
  org: Org;
  /** The active membership's role now; null when there is none (a superuser acting in the org). */
  role: Role | null;
  superuser: boolean;
  /** The account's display name, read with the rest. */
  fullName: string | null;
  /** When the account's MFA was enabled (null: none), as of the lock. */
  mfaEnabledAt: Date | null;
}

const notAMember = () =>
  new AppError('forbidden', 'You are not an active member of this organization');

/** What the caller proved before the transaction, judged again under the locks. */
export interface Proven {
  /** The password hash a login verified: a change or reset committed since refuses the login. */
  passwordHash: string | null;
}

/**
 * Locks the org and the person (in that order) and reads their standing: a disabled account is
 * 403 account_disabled, a suspended org 403 org_suspended (the platform superuser excepted), an
 * unknown org or person 403 forbidden, a password changed since `proven` 401 invalid_credentials.
 * A missing membership is for the caller to judge.
 */
export async function lockStanding(
  tx: Tx,
  orgId: string,
  userId: string,
  proven?: Proven,
): Promise<Standing> {
  const found = await lockOrgAndStanding(tx, orgId, userId, proven?.passwordHash);
  if (!found) throw notAMember();
  const { org, person } = found;
  // The password checked is no longer the account's: the change or reset ended every session
  // and half-done login, and must end this one too (it commits before us, or we wait for it).
  if (proven && person.password_current !== true) throw new AppError('invalid_credentials');
  if (person.user_status !== 'active') throw new AppError('account_disabled');
  if (org.suspended_at && !person.is_superuser) throw new AppError('org_suspended');
  return {
    org,
    role: person.role,
    superuser: person.is_superuser,
    fullName: person.full_name,
    mfaEnabledAt: person.mfa_enabled_at,
  };
}

/** lockStanding, for an active member only: returns their role now. */
export async function lockMember(
  tx: Tx,
  orgId: string,
  userId: string,
  proven?: Proven,
): Promise<Standing & { role: Role }> {
  const s = await lockStanding(tx, orgId, userId, proven);
  if (s.role === null) throw notAMember();
  return {
    org: s.org,
    role: s.role,
    superuser: s.superuser,
    fullName: s.fullName,
    mfaEnabledAt: s.mfaEnabledAt,
  };
}

/**
 * The caller as they stand now, for an act that grants or takes away access (a role, a
 * membership, an invitation, the org's settings): judged under the locks (lockStanding) with the
 * role the membership holds now, not the one the access token claims. A demotion or removal made
 * on another instance reaches this instance's revocation list only at its next poll; within that
 * window a demoted owner could otherwise grant owner, or restore their own role. The superuser
 * acting in the org acts as its owner. 403 forbidden once the caller is no longer a member.
 * A caller that takes the org's exclusive lock (lockOrg) must take it before this.
 */
export async function lockCaller(
  tx: Tx,
  p: Principal,
): Promise<{ caller: Principal; standing: Standing }> {
  const standing = await lockStanding(tx, p.orgId, p.userId);
  const role: Role | null = p.superuser && p.actingInOrg ? 'owner' : standing.role;
  if (role === null) throw notAMember();
  return { caller: role === p.role ? p : { ...p, role }, standing };
}
