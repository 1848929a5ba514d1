// Password login. Unknown email and wrong password are indistinguishable: same status, same
// body, and similar time (a dummy hash is verified when there is no user). Brute force is
// throttled per IP, per account and per (account, IP): the attempt is counted before any password
// work and given back only when the password was right.
import { mfaEnrollmentPending } from '../access/org-policy.ts';
import { lockMember } from '../access/standing.ts';
import { recordAct, recordAuditAlone } from '../audit/audit.ts';
import type { Org, Role, User } from '../db/schema.ts';
import { withSystem, withSystemRead } from '../db/tenant.ts';
import { AppError } from '../http/errors.ts';
import type { RequestMeta } from '../http/request-meta.ts';
import { normalizeEmail } from '../mail/email-address.ts';
import { clientKey } from '../security/client-key.ts';
import { findUserById, upgradePasswordHash } from '../users/user.repository.ts';
import type { AuthContext } from './auth-context.ts';
import { findLoginAccount } from './login-account.repository.ts';
import { dummyVerify, hashPassword, needsRehash, verifyPassword } from './password.ts';
import { openSession, type SessionSubject, type TokenPair, tokenPair } from './session-issue.ts';

export interface LoginSuccess {
  kind: 'tokens';
  user: User;
  orgId: string;
  /** The org the session opened in, read in the login's own transaction (for the response). */
  org: Org;
  role: Role;
  sessionId: string;
  tokens: TokenPair;
  /** The org requires MFA of this user, who has none: the session reaches enrolment only. */
  mfaPending?: boolean;
}

/**
 * After a correct password: issue a session, or hand over to a second factor. The MFA flow
 * plugs in here (it sees the verified user and decides); without it every login is one step.
 * `mfa_enrollment`: the org requires MFA of this role and the user has none, so the session's
 * tokens carry `mfa_pending` and reach only the enrolment routes (src/mfa/mfa-enrollment-gate.ts).
 */
export type SecondFactorHook = (
  user: User,
  subject: SessionSubject,
  meta: RequestMeta,
) => Promise<{ kind: 'mfa'; mfa_token: string; methods: string[] } | null>;

/** Runs after the session is issued (new-device notice); must never throw. */
export type AfterLoginHook = (r: LoginSuccess, meta: RequestMeta) => void | Promise<void>;

export type LoginResult = LoginSuccess | { kind: 'mfa'; mfa_token: string; methods: string[] };

export interface LoginHooks {
  /** The MFA step (issue: MFA); absent, every login is one step. */
  secondFactor?: SecondFactorHook;
  afterLogin?: AfterLoginHook;
}

/**
 * A refused login, recorded on its own (no org yet) with the code it answers as its reason, or
 * `reason` where the code says less (a password changed while it was being checked).
 */
async function refuseLogin(
  auth: AuthContext,
  meta: RequestMeta,
  user: User | undefined,
  code: 'invalid_credentials' | 'account_disabled' | 'email_not_verified',
  reason: string = code,
): Promise<never> {
  await recordAuditAlone(auth.database, meta, {
    org_id: null,
    actor_user_id: user?.id ?? null,
    actor_type: user ? 'user' : 'anonymous',
    action: 'auth.login',
    outcome: 'failure',
    metadata: { reason },
  });
  throw new AppError(code);
}

export async function login(
  auth: AuthContext,
  input: { email: string; password: string },
  meta: RequestMeta,
  hooks: LoginHooks = {},
): Promise<LoginResult> {
  const account = normalizeEmail(input.email) ?? input.email.trim().toLowerCase().slice(0, 320);
  const attempt = await auth.loginGuard.reserve({ account, ip: clientKey(meta.ip) });

  // One statement reads the account, its memberships and their orgs, for an unknown email too:
  // the same work either way.
  const { user, memberships } = await withSystemRead(auth.database, (tx) =>
    findLoginAccount(tx, account),
  );
  const ok = user?.password_hash
    ? await verifyPassword(user.password_hash, input.password)
    : await dummyVerify(input.password, auth.config.auth.argon2);
  if (!user || !ok) {
    await attempt.failed();
    return refuseLogin(auth, meta, user, 'invalid_credentials');
  }
  await attempt.succeeded();

  // Only now, after a correct password, may the answer differ from invalid_credentials.
  if (user.status !== 'active') return refuseLogin(auth, meta, user, 'account_disabled');
  if (auth.config.auth.requireEmailVerification && !user.email_verified_at) {
    return refuseLogin(auth, meta, user, 'email_not_verified');
  }

  // The oldest membership is the default org, skipping suspended ones (the kill switch): members
  // still reach their other orgs. Only suspended ones left: 403 org_suspended. The platform
  // superuser is never locked out (they are who resumes an org).
  const first = user.is_superuser
    ? memberships[0]
    : (memberships.find((m) => m.org_suspended_at === null) ?? memberships[0]);
  if (!first) {
    throw new AppError('forbidden', 'You are not an active member of any organization');
  }
  if (first.org_suspended_at !== null && !user.is_superuser) {
    await recordAuditAlone(auth.database, meta, {
      org_id: first.org_id,
      actor_user_id: user.id,
      actor_type: 'user',
      action: 'auth.login',
      outcome: 'failure',
      metadata: { reason: 'org_suspended' },
    });
    throw new AppError('org_suspended');
  }
  let verified = user;
  if (needsRehash(user.password_hash!, auth.config.auth.argon2)) {
    // Parameters were raised since this hash was made: upgrade it while we hold the password,
    // unless something replaced it meanwhile.
    const upgraded = await hashPassword(input.password, auth.config.auth.argon2);
    const from = user.password_hash!;
    if (await withSystem(auth.database, (tx) => upgradePasswordHash(tx, user.id, from, upgraded))) {
      verified = { ...user, password_hash: upgraded };
    } else {
      // A concurrent login's upgrade of this same password (it still verifies, and stays), or a
      // change or reset (it does not: refused).
      const now = await withSystemRead(auth.database, (tx) => findUserById(tx, user.id));
      if (!now?.password_hash || !(await verifyPassword(now.password_hash, input.password)))
        return refuseLogin(auth, meta, user, 'invalid_credentials', 'password_changed');
      verified = { ...user, password_hash: now.password_hash };
    }
  }

  const subject: SessionSubject = {
    userId: user.id,
    orgId: first.org_id,
    role: first.role,
    superuser: user.is_superuser,
    amr: ['pwd'],
  };
  const decision = await hooks
    .secondFactor?.(verified, subject, meta)
    .catch((err: unknown) => refusedIfPasswordChanged(auth, meta, user, err));
  if (decision?.kind === 'mfa') return decision;
  // An enrolment-only session (the org requires MFA of the role, the user has none) is decided
  // by completeLogin, under the locks.

  const result = await completeLogin(auth, verified, subject, meta);
  await hooks.afterLogin?.(result, meta);
  return result;
}

/**
 * Open the session and record the login (also the last step of an MFA login), in one
 * transaction that also reads the org the response shows: no second transaction for the body.
 */
export async function completeLogin(
  auth: AuthContext,
  user: User,
  subject: SessionSubject,
  meta: RequestMeta,
): Promise<LoginSuccess> {
  const opened = withSystem(auth.database, async (tx) => {
    // Judged again under the org's and the account's locks: a suspension, removal, role change,
    // disable, or password change or reset between the password (or the MFA step) and here wins,
    // and the role is today's.
    const standing = await lockMember(tx, subject.orgId, user.id, {
      passwordHash: user.password_hash,
    });
    const org = standing.org;
    // The second factor is judged again as of now too. MFA turned on since the password step
    // (enabling it locks the account row: it committed before, or we waited) leaves a login
    // without the factor nothing to open; a role or policy changed since pins, or frees, the
    // session as a fresh login would.
    if (!subject.amr.includes('mfa') && standing.mfaEnabledAt !== null) {
      throw new AppError(
        'conflict',
        'Two-factor authentication was turned on during this sign-in; sign in again',
      );
    }
    const mfaPending = mfaEnrollmentPending(
      { mfa_enabled_at: standing.mfaEnabledAt },
      subject.amr,
      org.settings,
      standing.role,
    );
    const current: SessionSubject = Object.assign({}, subject, {
      role: standing.role,
      superuser: standing.superuser,
      mfaPending,
    });
    const { sessionId, refreshToken } = await openSession(tx, auth, current, meta);
    await recordAct(tx, meta, current, {
      action: 'auth.login',
      target_type: 'session',
      target_id: sessionId,
      metadata: { amr: current.amr.join(' ') },
    });
    const tokens = await tokenPair(auth, current, sessionId, refreshToken);
    return {
      kind: 'tokens' as const,
      user,
      orgId: current.orgId,
      org,
      role: current.role,
      sessionId,
      tokens,
      ...(current.mfaPending ? { mfaPending: true } : {}),
    };
  });
  return opened.catch((err: unknown) => refusedIfPasswordChanged(auth, meta, user, err));
}

/**
 * A step judged under the account's lock found the password verified no longer the account's
 * (lockStanding's `proven`): recorded as such; any other error passes through.
 */
function refusedIfPasswordChanged(
  auth: AuthContext,
  meta: RequestMeta,
  user: User,
  err: unknown,
): Promise<never> {
  if (err instanceof AppError && err.code === 'invalid_credentials')
    return refuseLogin(auth, meta, user, 'invalid_credentials', 'password_changed');
  throw err;
}
