// Completing an MFA login: the mfa_token from the password step plus a TOTP code or a backup
// code. The token is spent in the same transaction that spends the code, so neither a token nor
// a code works twice, even under concurrent requests; wrong codes count toward mfa_verify.
import { findActiveMembership } from '../access/membership.repository.ts';
import { ROLES } from '../access/permissions.ts';
import { recordAuditAlone } from '../audit/audit.ts';
import type { AuthContext } from '../auth/auth-context.ts';
import { type AfterLoginHook, completeLogin, type LoginSuccess } from '../auth/login.ts';
import { consumeUserToken, findLiveUserToken } from '../auth/user-token.repository.ts';
import { presentedTokenHash } from '../auth/user-tokens.ts';
import type { Role, User } from '../db/schema.ts';
import { withSystem, withTenant } from '../db/tenant.ts';
import { AppError } from '../http/errors.ts';
import { UUID_PATTERN } from '../http/ids.ts';
import type { RequestMeta } from '../http/request-meta.ts';
import { findUserById } from '../users/user.repository.ts';
import { reserveCodeAttempt } from './code-attempts.ts';
import { clientBinding } from './login-challenge.ts';
import { type FactorInput, proveSecondFactor } from './second-factor.ts';

const UUID = new RegExp(UUID_PATTERN);

type Outcome =
  | { kind: 'ok'; user: User; role: Role; method: 'totp' | 'backup_code' }
  | { kind: 'wrong'; reused: boolean }
  | { kind: 'invalid' };

/** The attempt an unspent, unexpired token belongs to, if presented by the client it was given to. */
async function openChallenge(auth: AuthContext, mfaToken: string, meta: RequestMeta) {
  const hash = presentedTokenHash(mfaToken);
  if (!hash) return null;
  // System path: the mfa_token is the only handle on the login attempt; no session or tenant
  // exists yet. The lookup is by the token's hash alone.
  const t = await withSystem(auth.database, (tx) => findLiveUserToken(tx, hash, ['mfa_login']));
  const { org_id, role, client } = t?.metadata ?? {};
  if (!t || client !== clientBinding(meta)) return null;
  if (typeof org_id !== 'string' || !UUID.test(org_id)) return null;
  if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) return null;
  return { id: t.id, userId: t.user_id, orgId: org_id, role: role as Role };
}

export async function verifyMfaLogin(
  auth: AuthContext,
  input: { mfa_token: string; factor: FactorInput },
  meta: RequestMeta,
  afterLogin?: AfterLoginHook,
): Promise<LoginSuccess> {
  const challenge = await openChallenge(auth, input.mfa_token, meta);
  if (!challenge) throw new AppError('invalid_mfa_token');
  const { userId, orgId } = challenge;
  const attempt = await reserveCodeAttempt(auth, userId, meta.ip);

  const ctx = { orgId, userId, role: challenge.role };
  const outcome = await withTenant(auth.database, ctx, async (tx): Promise<Outcome> => {
    const user = await findUserById(tx, userId);
    // The role may have changed, or the membership ended, since the password step.
    const membership = await findActiveMembership(tx, orgId, userId);
    if (user?.status !== 'active' || !membership) return { kind: 'invalid' };
    const proof = await proveSecondFactor(tx, auth, user, input.factor);
    if (!proof.ok) return { kind: 'wrong', reused: proof.reused === true };
    // Spent by a concurrent request: throwing rolls the code back, it stays usable.
    if (!(await consumeUserToken(tx, challenge.id))) throw new AppError('invalid_mfa_token');
    return { kind: 'ok', user, role: membership.role, method: proof.method };
  }).catch(async (err: unknown) => {
    // Only a right code reaches the token spend: losing that race costs no guess.
    if (err instanceof AppError && err.code === 'invalid_mfa_token') await attempt.succeeded();
    throw err;
  });
  if (outcome.kind === 'invalid') {
    await attempt.release();
    throw new AppError('invalid_mfa_token');
  }
  if (outcome.kind === 'wrong') {
    await attempt.failed();
    await recordAuditAlone(auth.database, meta, {
      org_id: orgId,
      actor_user_id: userId,
      actor_type: 'user',
      action: 'auth.login',
      outcome: 'failure',
      metadata: {
        reason: 'invalid_mfa_code',
        method: 'totp' in input.factor ? 'totp' : 'backup_code',
        ...(outcome.reused ? { reused: true } : {}),
      },
    });
    // A reused code counts as a wrong one (the same guess allowance); only the answer differs.
    throw new AppError(outcome.reused ? 'mfa_code_reused' : 'invalid_mfa');
  }
  await attempt.succeeded();

  const { user, role, method } = outcome;
  const result = await completeLogin(
    auth,
    user,
    {
      userId,
      orgId,
      role,
      superuser: user.is_superuser,
      amr: method === 'totp' ? ['pwd', 'mfa', 'otp'] : ['pwd', 'mfa'],
    },
    meta,
  );
  await afterLogin?.(result, meta);
  return result;
}
