// Email verification: a mailed single-use link (/verify-email?token=…, 24 h) proves the user
// controls the address. Resending never tells who exists: the anonymous form answers the same
// for every address and does the same database work (one conditional insert) either way.
import { isPerson } from '../access/actor.ts';
import type { Principal } from '../access/principal.ts';
import { tenantOf } from '../access/principal.ts';
import { type AuditInput, recordAudit, recordAuditAlone } from '../audit/audit.ts';
import { generateToken, hashToken } from '../crypto/tokens.ts';
import type { User } from '../db/schema.ts';
import { withSystem, withTenant } from '../db/tenant.ts';
import { AppError } from '../http/errors.ts';
import { newId } from '../http/ids.ts';
import type { RequestMeta } from '../http/request-meta.ts';
import { normalizeEmail } from '../mail/email-address.ts';
import { verifyEmail as verifyEmailMail } from '../mail/templates.ts';
import { clientKey } from '../security/client-key.ts';
import { findUserById } from '../users/user.repository.ts';
import type { AuthContext } from './auth-context.ts';
import { proveMailboxControl } from './mailbox-proof.ts';
import { sendMail } from './notifications.ts';
import { verifyPassword } from './password.ts';
import {
  consumeUserToken,
  findLiveUserToken,
  insertUserTokenForEmail,
  retireUserTokensByEmail,
} from './user-token.repository.ts';
import { presentedTokenHash } from './user-tokens.ts';

export const EMAIL_VERIFICATION_TTL_MS = 24 * 3600 * 1000;

/**
 * Mints a verification token for the address if an active, unverified user has it, and mails the
 * link. Older unused links of the user die: only the newest works.
 */
async function mailVerificationLink(
  auth: AuthContext,
  email: string,
  name: string | undefined,
  meta: RequestMeta,
): Promise<void> {
  const token = generateToken(32);
  // System path: the anonymous form knows only an address, no tenant; the statements touch
  // nothing but the row of the user owning that address.
  const userId = await withSystem(auth.database, async (tx) => {
    await retireUserTokensByEmail(tx, email, ['verify_email']);
    const id = await insertUserTokenForEmail(tx, {
      id: newId(),
      email,
      purpose: 'verify_email',
      token_hash: hashToken(token),
      expires_at: new Date(Date.now() + EMAIL_VERIFICATION_TTL_MS),
      onlyUnverified: true,
    });
    await recordAudit(tx, meta, {
      org_id: null,
      actor_user_id: id ?? null,
      actor_type: id ? 'user' : 'anonymous',
      action: 'auth.email_verification_sent',
      target_type: 'user',
      target_id: id ?? null,
      outcome: id ? 'success' : 'failure',
    });
    return id;
  });
  if (!userId) return;
  sendMail(auth, email, () => verifyEmailMail({ publicUrl: auth.config.publicUrl, token, name }));
}

/** At sign-up (after the user committed). */
export function sendVerificationMail(
  auth: AuthContext,
  user: Pick<User, 'email' | 'full_name'>,
  meta: RequestMeta,
): Promise<void> {
  return mailVerificationLink(auth, user.email, user.full_name ?? undefined, meta);
}

/**
 * POST /api/auth/email/resend: for the signed-in user, or (signed out, e.g. when unverified
 * users may not log in) for an address. Limited per address, and the anonymous form per IP too.
 */
export async function resendVerification(
  auth: AuthContext,
  p: Principal | null,
  input: { email?: string },
  meta: RequestMeta,
): Promise<void> {
  let email: string;
  let name: string | undefined;
  if (p) {
    // An API key acts on resources, never on its creator's account.
    if (!isPerson(p)) throw new AppError('forbidden', 'API keys cannot do this; a person must');
    const user = await withTenant(auth.database, tenantOf(p), (tx) => findUserById(tx, p.userId));
    if (!user) throw new AppError('unauthenticated');
    email = user.email;
    name = user.full_name ?? undefined;
  } else {
    if (input.email === undefined) throw new AppError('unauthenticated');
    await auth.limiter.consume('password_forgot_ip', clientKey(meta.ip));
    email = normalizeEmail(input.email) ?? input.email.trim().toLowerCase().slice(0, 320);
  }
  await auth.limiter.consume('email_resend', email);
  await mailVerificationLink(auth, email, name, meta);
}

/**
 * What the verify route says when a password is needed and missing: the person following the
 * link may be the mailbox owner who never signed up, and must learn the way that works for them.
 */
const VERIFY_PASSWORD_REQUIRED =
  'is required: enter the password you chose when you signed up, or use "forgot password" if you did not sign up yourself';

/**
 * A never-verified account with a password was set up by whoever typed the address. The token
 * proves the mailbox; only the password proves that its owner is that registrant. Without it the
 * registrant's password would outlive the proof and open a verified account (the purge of
 * mailbox-proof.ts ends sessions, MFA and keys, not the password). A mailbox owner who did not
 * sign up uses forgot-password instead: that link proves the address and replaces the password.
 * Verified accounts (nothing left to take over) and accounts without a password (nothing to
 * outlive the proof) need the token alone.
 */
function needsPassword(user: Pick<User, 'email_verified_at' | 'password_hash'>): boolean {
  return !user.email_verified_at && user.password_hash !== null;
}

/**
 * POST /api/auth/email/verify: spends the token and marks the address verified. The first proof
 * of a never-verified account purges what was set up before it (src/auth/mailbox-proof.ts).
 */
export async function verifyEmailToken(
  auth: AuthContext,
  input: { token: string; password?: string },
  meta: RequestMeta,
): Promise<void> {
  const hash = presentedTokenHash(input.token);
  if (!hash) throw new AppError('invalid_token');
  // System path: the token is the only handle on its user, no tenant is known before it opens.
  // This first look spends nothing, so the password hash below runs outside any transaction.
  const found = await withSystem(auth.database, async (tx) => {
    const t = await findLiveUserToken(tx, hash, ['verify_email']);
    const user = t ? await findUserById(tx, t.user_id) : undefined;
    // A disabled account is inert (as for a reset link): its link changes nothing, and purges
    // nothing, until the account is enabled again.
    return t && user?.status === 'active' ? { token: t, user } : null;
  });
  if (!found) throw new AppError('invalid_token');
  const { token, user } = found;

  let provenHash: string | null = null;
  if (needsPassword(user)) {
    if (input.password === undefined) {
      throw new AppError('validation_failed', `A password ${VERIFY_PASSWORD_REQUIRED}`, {
        errors: [{ field: 'password', message: VERIFY_PASSWORD_REQUIRED }],
      });
    }
    await provePassword(auth, user, input.password, meta);
    provenHash = user.password_hash;
  }

  const ended = await withSystem(auth.database, async (tx) => {
    // The decision above must still hold: if the account needs a password now, it is the one
    // just proven (a password changed or set in between is checked again by a new attempt).
    const current = await findUserById(tx, user.id);
    if (current?.status !== 'active') return null;
    if (needsPassword(current) && current.password_hash !== provenHash) {
      throw new AppError('conflict', 'The account changed meanwhile: follow the link again');
    }
    if (!(await consumeUserToken(tx, token.id))) return null;
    const proof = await proveMailboxControl(tx, user.id, 'verify_email', meta);
    await recordAudit(tx, meta, verifyEntry(user, 'success'));
    return proof;
  });
  if (!ended) throw new AppError('invalid_token');
  auth.revocation.add(ended.endedSessions);
  auth.apiKeyRevocations.add(ended.revokedApiKeys);
}

/**
 * The registrant's password, guessed against the login brute-force counters of the account's
 * address: the point is reserved before the hash is checked, so parallel guesses at the verify
 * route cannot outrun the limit, and guesses here and at the login form share one budget. A wrong
 * one answers like a wrong login and leaves the token unspent.
 */
async function provePassword(
  auth: AuthContext,
  user: User,
  password: string,
  meta: RequestMeta,
): Promise<void> {
  const attempt = await auth.loginGuard.reserve({ account: user.email, ip: clientKey(meta.ip) });
  if (user.password_hash && (await verifyPassword(user.password_hash, password))) {
    await attempt.succeeded();
    return;
  }
  await attempt.failed();
  await recordAuditAlone(
    auth.database,
    meta,
    verifyEntry(user, 'failure', { reason: 'invalid_credentials' }),
  );
  throw new AppError('invalid_credentials', 'The password is incorrect', {
    errors: [{ field: 'password', message: 'is incorrect' }],
  });
}

/** The audit entry of a verification: the registrant acts on their own account. */
function verifyEntry(
  user: User,
  outcome: AuditInput['outcome'],
  metadata?: AuditInput['metadata'],
): AuditInput {
  return {
    org_id: null,
    actor_user_id: user.id,
    actor_type: 'user',
    action: 'auth.email_verify',
    target_type: 'user',
    target_id: user.id,
    outcome,
    ...(metadata === undefined ? {} : { metadata }),
  };
}
