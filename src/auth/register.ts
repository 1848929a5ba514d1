// Sign-up: a user, their first org (a company they own, or a personal workspace) and a session,
// in one transaction.
import { insertMembership, insertOrg } from '../access/membership.repository.ts';
import { recordAudit } from '../audit/audit.ts';
import { isUniqueViolation } from '../db/errors.ts';
import type { Org, Role, User } from '../db/schema.ts';
import { withSystem } from '../db/tenant.ts';
import { AppError } from '../http/errors.ts';
import { newId } from '../http/ids.ts';
import type { RequestMeta } from '../http/request-meta.ts';
import { visibleOrNone } from '../http/schemas.ts';
import { normalizeEmail } from '../mail/email-address.ts';
import { clientKey } from '../security/client-key.ts';
import { reserveSignUp } from '../security/rate-limits.ts';
import { insertUser } from '../users/user.repository.ts';
import type { AuthContext } from './auth-context.ts';
import { hashAllowedPassword } from './password-rules.ts';
import { openSession, type TokenPair, tokenPair } from './session-issue.ts';

export interface RegisterInput {
  email: string;
  password: string;
  full_name?: string;
  company_name?: string;
}

export interface RegisterResult {
  user: User;
  org: Org;
  role: Role;
  /** null under REQUIRE_EMAIL_VERIFICATION: the account exists, a session waits for the link. */
  tokens: TokenPair | null;
  /** The session sign-up opened (null with `tokens`). */
  sessionId: string | null;
}

export function invalidEmail(): AppError {
  return new AppError('validation_failed', 'The email address is not valid', {
    errors: [{ field: 'email', message: 'is not a valid email address' }],
  });
}

export async function register(
  auth: AuthContext,
  input: RegisterInput,
  meta: RequestMeta,
): Promise<RegisterResult> {
  if (!auth.config.auth.signupEnabled) throw new AppError('signup_disabled');
  // Accounts created and attempts refused are counted apart: a newcomer whose passwords the rules
  // refuse a few times is not locked out of signing up for an hour.
  const attempt = await reserveSignUp(auth.limiter, clientKey(meta.ip));
  let result: RegisterResult;
  try {
    result = await createAccount(auth, input, meta);
  } catch (err) {
    await (err instanceof AppError ? attempt.refused() : attempt.release());
    throw err;
  }
  await attempt.created();
  return result;
}

const WORKSPACE_SUFFIX = "'s workspace";
const ORG_NAME_MAX = 200;

/**
 * "Ada's workspace", within the org name's limit (200 characters, as PATCH /api/orgs/current
 * takes): a 200-character full name is cut, whole code points, to leave room for the suffix.
 */
export function personalWorkspaceName(owner: string): string {
  const room = ORG_NAME_MAX - WORKSPACE_SUFFIX.length;
  return [...owner].slice(0, room).join('').trimEnd() + WORKSPACE_SUFFIX;
}

async function createAccount(
  auth: AuthContext,
  input: RegisterInput,
  meta: RequestMeta,
): Promise<RegisterResult> {
  const email = normalizeEmail(input.email);
  if (!email) throw invalidEmail();
  const fullName = visibleOrNone(input.full_name) ?? null;
  const passwordHash = await hashAllowedPassword(auth, input.password, { email, fullName });

  const company = visibleOrNone(input.company_name);
  const userId = newId();
  const orgId = newId();
  const amr = ['pwd'];
  try {
    return await withSystem(auth.database, async (tx) => {
      const user = await insertUser(tx, {
        id: userId,
        email,
        password_hash: passwordHash,
        full_name: fullName,
      });
      const org = await insertOrg(tx, {
        id: orgId,
        name: company || personalWorkspaceName(fullName ?? email.split('@')[0]!),
        kind: company ? 'company' : 'personal',
      });
      await insertMembership(tx, orgId, userId, 'owner');
      const subject = { userId, orgId, role: 'owner' as const, superuser: false, amr };
      // With verification required, sign-up must not be a way around the login gate: whoever
      // typed an address they do not own gets no session until its link is followed.
      const session = auth.config.auth.requireEmailVerification
        ? null
        : await openSession(tx, auth, subject, meta);
      await recordAudit(tx, meta, {
        org_id: orgId,
        actor_user_id: userId,
        actor_type: 'user',
        action: 'user.register',
        target_type: 'user',
        target_id: userId,
        outcome: 'success',
        metadata: {
          org_kind: org.kind,
          ...(session ? { session_id: session.sessionId } : { email_verification_required: true }),
        },
      });
      const tokens = session
        ? await tokenPair(auth, subject, session.sessionId, session.refreshToken)
        : null;
      return { user, org, role: 'owner' as const, tokens, sessionId: session?.sessionId ?? null };
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw new AppError('email_taken');
    throw err;
  }
}
