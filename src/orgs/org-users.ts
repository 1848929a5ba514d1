// Admin-created users (the source documents' /api/create_user): an owner or admin creates an
// account straight into the current org. With a password, it is usable at once; without, the
// user is mailed a single-use set-password link (a `set_password` user token, stored hashed,
// valid SET_PASSWORD_TTL_DAYS) that POST /api/auth/password/reset redeems. Works with public
// sign-up turned off: this and invitations are then the only ways in.
//
// It runs under the admin's own tenant context; the database admits exactly this (see the
// 0005 migration): a plain account (never a superuser), and a set-password token only for a
// member of the admin's org who has no password yet.
import { auditActor } from '../access/actor.ts';
import { requirePermission } from '../access/permissions.ts';
import { type Principal, tenantOf } from '../access/principal.ts';
import { recordAudit } from '../audit/audit.ts';
import type { AuthContext, RequestMeta } from '../auth/auth-context.ts';
import { normalizeEmail } from '../auth/email-address.ts';
import { assertPasswordAllowed, hashWithPolicy } from '../auth/password-rules.ts';
import { invalidEmail, isUniqueViolation } from '../auth/register.ts';
import { generateToken, hashToken } from '../crypto/tokens.ts';
import type { Role, User } from '../db/schema.ts';
import { withTenant } from '../db/tenant.ts';
import { AppError, notFound } from '../http/errors.ts';
import { newId } from '../http/ids.ts';
import { setPassword as setPasswordMail } from '../mail/templates.ts';
import { findUserById } from '../users/user.repository.ts';
import { findOrg, insertMembership } from './org.repository.ts';
import { assertEmailDomainAllowed, readSettings } from './org-settings.ts';
import { assertMayGrant } from './roles.ts';

const DAY_MS = 86_400_000;

export interface CreateOrgUserInput {
  email: string;
  full_name?: string;
  role: Role;
  password?: string;
}

export async function createOrgUser(
  auth: AuthContext,
  p: Principal,
  input: CreateOrgUserInput,
  meta: RequestMeta,
): Promise<{ user: User; role: Role }> {
  requirePermission(p, 'members:manage');
  assertMayGrant(p.role, input.role);
  const email = normalizeEmail(input.email);
  if (!email) throw invalidEmail();
  const fullName = input.full_name?.trim() || null;
  let passwordHash: string | null = null;
  if (input.password !== undefined) {
    assertPasswordAllowed(auth, input.password, { email, fullName });
    passwordHash = await hashWithPolicy(auth, input.password);
  }
  const token = passwordHash === null ? generateToken(32) : undefined;
  const userId = newId();

  let out: { user: User; orgName: string };
  try {
    out = await withTenant(auth.database, tenantOf(p), async (tx) => {
      const org = await findOrg(tx, p.orgId);
      if (!org) throw notFound('organization');
      assertEmailDomainAllowed(readSettings(org.settings), email);
      // No RETURNING: the new row becomes visible to the admin only once it is a member.
      await tx
        .insertInto('users')
        .values({ id: userId, email, full_name: fullName, password_hash: passwordHash })
        .execute();
      await insertMembership(tx, p.orgId, userId, input.role);
      if (token) {
        await tx
          .insertInto('user_tokens')
          .values({
            id: newId(),
            user_id: userId,
            purpose: 'set_password',
            token_hash: hashToken(token),
            expires_at: new Date(Date.now() + auth.config.orgs.setPasswordTtlDays * DAY_MS),
            metadata: JSON.stringify({ org_id: p.orgId, created_by: p.userId }),
          })
          .execute();
      }
      await recordAudit(tx, meta, {
        org_id: p.orgId,
        ...auditActor(p),
        action: 'user.create',
        target_type: 'user',
        target_id: userId,
        outcome: 'success',
        metadata: { email, role: input.role, password_set: passwordHash !== null },
      });
      const user = await findUserById(tx, userId);
      if (!user) throw new Error('created user is not visible to its creator');
      return { user, orgName: org.name };
    });
  } catch (err) {
    // Admins learn that the address has an account somewhere; they can invite it instead.
    if (isUniqueViolation(err)) {
      throw new AppError('email_taken', 'This address already has an account: invite it instead');
    }
    throw err;
  }

  if (token) {
    auth.mailer?.send({
      to: email,
      ...setPasswordMail({ publicUrl: auth.config.publicUrl, token, orgName: out.orgName }),
    });
  }
  return { user: out.user, role: input.role };
}
