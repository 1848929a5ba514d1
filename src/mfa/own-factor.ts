// A user's acts on their own second factor (status, setup, enable, new backup codes, disable):
// each reads the caller's own row in the caller's tenant, the caller is both actor and target of
// the audit entry, and a wrong code is refused the same way by every act that asks for one.
import { personActor } from '../access/actor.ts';
import { type Principal, tenantOf } from '../access/principal.ts';
import { type AuditInput, recordAuditAlone } from '../audit/audit.ts';
import type { AuthContext } from '../auth/auth-context.ts';
import { findLiveSessionForUpdate } from '../auth/session.repository.ts';
import type { User } from '../db/schema.ts';
import { type Tx, withTenant } from '../db/tenant.ts';
import { AppError } from '../http/errors.ts';
import type { RequestMeta } from '../http/request-meta.ts';
import type { Reservation } from '../security/rate-limits.ts';
import { findUserForUpdate } from '../users/user.repository.ts';
import { reserveCodeAttempt } from './code-attempts.ts';

/** Runs `fn` in one transaction of the caller's tenant with the caller's row (undefined if gone). */
export function withOwnUser<T>(
  auth: AuthContext,
  p: Principal,
  fn: (tx: Tx, user: User | undefined) => Promise<T>,
): Promise<T> {
  return withTenant(auth.database, tenantOf(p), async (tx) => {
    // The row locked, then the caller's session judged under it: a password reset or change
    // ends the account's (other) sessions in the transaction that holds this row, so an act on
    // the second factor either commits first or finds its session ended. Unlocked, a session a
    // reset had just ended went on to disable MFA (or enrol its own) after the reset.
    const user = await findUserForUpdate(tx, p.userId);
    if (p.sessionId && !(await findLiveSessionForUpdate(tx, p.sessionId))) {
      throw new AppError('unauthenticated', 'The session has ended');
    }
    return fn(tx, user);
  });
}

/** The entry for `action` on the caller's own MFA (the routes admit people only, never API keys). */
export function ownFactorEntry(
  p: Principal,
  action: string,
  outcome: AuditInput['outcome'],
  metadata?: AuditInput['metadata'],
): AuditInput {
  return {
    org_id: p.orgId,
    ...personActor(p),
    action,
    target_type: 'user',
    target_id: p.userId,
    outcome,
    ...(metadata === undefined ? {} : { metadata }),
  };
}

/**
 * A wrong code: the attempt counts against the caller, the failure is recorded on its own (the
 * act's transaction rolled back) and the request is refused with `invalid_code`. A right code of
 * a step already spent (`reused`) counts and is recorded the same way, and is refused with
 * `code_reused`: the person should wait for the next code, not doubt their clock.
 */
export async function refuseWrongCode(
  auth: AuthContext,
  attempt: Reservation,
  meta: RequestMeta,
  p: Principal,
  action: string,
  reused = false,
): Promise<never> {
  await attempt.failed();
  await recordAuditAlone(
    auth.database,
    meta,
    ownFactorEntry(p, action, 'failure', {
      reason: 'invalid_code',
      ...(reused ? { reused: true } : {}),
    }),
  );
  throw new AppError(reused ? 'code_reused' : 'invalid_code');
}

/** How an act the caller proves with a code ended, inside its transaction. */
export type CodeProvenOutcome<T> =
  | { kind: 'ok'; value: T; user: User }
  | { kind: 'wrong'; reused?: boolean }
  /** Refused before the code counted (state, not a guess): the attempt is given back. */
  | { kind: 'refused'; error: AppError };

/**
 * An act on the caller's own factor that a code proves (enable, new backup codes): the code
 * attempt is reserved first, `fn` runs with the caller's row, and then the attempt counts as
 * succeeded, is refused as a wrong code (refuseWrongCode), or is given back with the refusal.
 */
export async function proveWithOwnCode<T>(
  auth: AuthContext,
  p: Principal,
  meta: RequestMeta,
  action: string,
  fn: (tx: Tx, user: User | undefined) => Promise<CodeProvenOutcome<T>>,
): Promise<{ value: T; user: User }> {
  const attempt = await reserveCodeAttempt(auth, p.userId);
  const outcome = await withOwnUser(auth, p, fn).catch(async (err) => {
    // Refused before the code was judged (the session ended): not a guess.
    await attempt.release();
    throw err;
  });
  if (outcome.kind === 'refused') {
    await attempt.release();
    throw outcome.error;
  }
  if (outcome.kind === 'wrong') {
    return refuseWrongCode(auth, attempt, meta, p, action, outcome.reused);
  }
  await attempt.succeeded();
  return outcome;
}
