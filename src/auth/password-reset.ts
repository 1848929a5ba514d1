// Password reset by mailed link. Forgot: the same 202 for every address, after the same database
// work (one conditional insert decides whether a token exists), so neither the answer nor its
// time tells who has an account. Reset: the token (reset_password, or set_password for accounts
// an admin created) works once, before it expires; the new password obeys the rules; every
// session of the user ends.
import { recordAudit } from '../audit/audit.ts';
import { generateToken, hashToken } from '../crypto/tokens.ts';
import { withSystem } from '../db/tenant.ts';
import { AppError } from '../http/errors.ts';
import { newId } from '../http/ids.ts';
import type { RequestMeta } from '../http/request-meta.ts';
import { normalizeEmail } from '../mail/email-address.ts';
import { passwordReset } from '../mail/templates.ts';
import { clientKey } from '../security/client-key.ts';
import { findUserById, setPasswordHash } from '../users/user.repository.ts';
import type { AuthContext } from './auth-context.ts';
import { proveMailboxControl } from './mailbox-proof.ts';
import { sendMail, sendNotice } from './notifications.ts';
import { hashAllowedPassword } from './password-rules.ts';
import { revokeSessions } from './session.repository.ts';
import {
  consumeUserToken,
  findLiveUserToken,
  insertUserTokenForEmail,
  retireUserTokens,
  retireUserTokensByEmail,
} from './user-token.repository.ts';
import { presentedTokenHash } from './user-tokens.ts';

/** The links that set a password: a reset, and an admin-created account's first password. */
export const RESET_PURPOSES = ['reset_password', 'set_password'] as const;

/**
 * What dies with the password when it changes (a change or a reset): the links that would set
 * another one, and logins half-done with the old one (their mfa_token), which a thief holding the
 * old password and a code could otherwise finish after the owner changed it.
 */
export const PASSWORD_BOUND_PURPOSES = [...RESET_PURPOSES, 'mfa_login'] as const;

export async function forgotPassword(
  auth: AuthContext,
  input: { email: string },
  meta: RequestMeta,
): Promise<void> {
  const email = normalizeEmail(input.email) ?? input.email.trim().toLowerCase().slice(0, 320);
  await auth.limiter.consume('password_forgot_ip', clientKey(meta.ip));
  await auth.limiter.consume('password_forgot_account', email);
  const minutes = auth.config.auth.passwordResetTtlMinutes;
  const token = generateToken(32);
  // System path: an anonymous caller names an address, no tenant is known; the statements touch
  // only the tokens of the user owning that address.
  const userId = await withSystem(auth.database, async (tx) => {
    await retireUserTokensByEmail(tx, email, ['reset_password']);
    const id = await insertUserTokenForEmail(tx, {
      id: newId(),
      email,
      purpose: 'reset_password',
      token_hash: hashToken(token),
      expires_at: new Date(Date.now() + minutes * 60_000),
    });
    // Recorded for known and unknown addresses alike (same work); the address is not stored.
    await recordAudit(tx, meta, {
      org_id: null,
      actor_user_id: null,
      actor_type: 'anonymous',
      action: 'auth.password_reset_request',
      target_type: 'user',
      target_id: id ?? null,
      outcome: id ? 'success' : 'failure',
    });
    return id;
  });
  if (userId) {
    sendMail(auth, email, () =>
      passwordReset({ publicUrl: auth.config.publicUrl, token, minutes }),
    );
  }
}

export async function resetPassword(
  auth: AuthContext,
  input: { token: string; new_password: string },
  meta: RequestMeta,
): Promise<void> {
  await auth.limiter.consume('password_reset_ip', clientKey(meta.ip));
  const hash = presentedTokenHash(input.token);
  if (!hash) throw new AppError('invalid_token');
  // System path: the token is the only handle on its user; no tenant is known before it opens.
  const found = await withSystem(auth.database, async (tx) => {
    const t = await findLiveUserToken(tx, hash, RESET_PURPOSES);
    const user = t ? await findUserById(tx, t.user_id) : undefined;
    return t && user?.status === 'active' ? { token: t, user } : null;
  });
  if (!found) throw new AppError('invalid_token');
  const { token, user } = found;

  // A weak password leaves the token unspent: the user may try another one.
  const passwordHash = await hashAllowedPassword(
    auth,
    input.new_password,
    { email: user.email, fullName: user.full_name },
    'new_password',
  );

  const ended = await withSystem(auth.database, async (tx) => {
    // Spent here, in the same transaction as the new password: of two concurrent resets with
    // one token, exactly one changes the password.
    if (!(await consumeUserToken(tx, token.id))) return null;
    await setPasswordHash(tx, user.id, passwordHash);
    // The link arrived by mail: the user controls the address. On a never-verified account this
    // purges MFA, sessions and keys set up before (by whoever registered or created it).
    const via = token.purpose === 'set_password' ? 'set_password' : 'reset_password';
    const proof = await proveMailboxControl(tx, user.id, via, meta);
    await retireUserTokens(tx, user.id, PASSWORD_BOUND_PURPOSES);
    const ids = [
      ...proof.endedSessions,
      ...(await revokeSessions(tx, { userId: user.id }, 'password_reset')),
    ];
    await recordAudit(tx, meta, {
      org_id: null,
      actor_user_id: user.id,
      actor_type: 'user',
      action: token.purpose === 'set_password' ? 'auth.password_set' : 'auth.password_reset',
      target_type: 'user',
      target_id: user.id,
      outcome: 'success',
      metadata: { sessions_ended: ids.length },
    });
    return { ids, keys: proof.revokedApiKeys };
  });
  if (ended === null) throw new AppError('invalid_token');
  auth.revocation.add(ended.ids);
  auth.apiKeyRevocations.add(ended.keys);
  if (token.purpose === 'reset_password') sendNotice(auth, user, 'passwordWasReset');
}
