// Platform administration by the superuser: every org and user, disabling an account (all its
// sessions end at once), rotating the JWT signing key. Only a superuser's own login may do
// this — never an API key, never anyone else.
import { requireSuperuser } from '../access/permissions.ts';
import { type Principal, tenantOf } from '../access/principal.ts';
import { type AuditInput, recordAudit } from '../audit/audit.ts';
import type { AuthContext } from '../auth/auth-context.ts';
import { PASSWORD_BOUND_PURPOSES } from '../auth/password-reset.ts';
import { revokeSessions } from '../auth/session.repository.ts';
import type { RotationResult } from '../auth/signing-keys.ts';
import { retireUserTokens } from '../auth/user-token.repository.ts';
import { type Tx, withTenant } from '../db/tenant.ts';
import { AppError, notFound } from '../http/errors.ts';
import { decodeCursor, page } from '../http/pagination.ts';
import type { RequestMeta } from '../http/request-meta.ts';
import { revokeInvitationsBeyondAuthority } from '../orgs/invitation-authority.ts';
import { revokeCreatorKeys } from '../users/creator-keys.ts';
import {
  type AdminUserRow,
  findAdminUser,
  listAllOrgs,
  listAllUsers,
  orgIdsOfUser,
  setUserStatus,
} from './admin.repository.ts';

export async function adminListOrgs(
  auth: AuthContext,
  p: Principal,
  q: { limit: number; cursor?: string },
) {
  requireSuperuser(p);
  const before = decodeCursor(q.cursor);
  const rows = await withTenant(auth.database, tenantOf(p, { platformAdmin: true }), (tx) =>
    listAllOrgs(tx, { limit: q.limit + 1, before }),
  );
  return page(rows, q.limit);
}

export async function adminListUsers(
  auth: AuthContext,
  p: Principal,
  q: { limit: number; cursor?: string; email?: string },
) {
  requireSuperuser(p);
  const before = decodeCursor(q.cursor);
  const rows = await withTenant(auth.database, tenantOf(p, { platformAdmin: true }), (tx) =>
    listAllUsers(tx, { limit: q.limit + 1, before, email: q.email?.toLowerCase() }),
  );
  return page(rows, q.limit);
}

/**
 * Disable or re-enable an account. Disabling ends every session at once (here now, elsewhere
 * within one revocation poll) and, through the key lookup, every API key the user created.
 * Recorded in the audit log of each org the user belongs to (their admins should know), or
 * platform-wide when they belong to none.
 */
export async function adminSetUserStatus(
  auth: AuthContext,
  p: Principal,
  userId: string,
  status: 'active' | 'disabled',
  meta: RequestMeta,
): Promise<AdminUserRow> {
  requireSuperuser(p);
  if (userId === p.userId) {
    throw new AppError('conflict', 'You cannot disable or enable your own account');
  }
  const out = await withTenant(auth.database, tenantOf(p, { platformAdmin: true }), async (tx) => {
    const user = await setUserStatus(tx, userId, status);
    if (!user) {
      // Already so (a repeated or concurrent request, which waited for the first one's row lock):
      // nothing changes, so nothing is revoked again or recorded twice.
      const same = await findAdminUser(tx, userId);
      if (!same) throw notFound('user');
      return { user: same, ended: [] as string[], keys: [] as string[] };
    }
    let ended: string[] = [];
    let invitationsRevoked = 0;
    let keysRevoked: { id: string }[] = [];
    if (status === 'disabled') {
      const actor = { actor_user_id: p.userId, actor_type: 'superuser' } as const;
      ended = await revokeSessions(tx, { userId }, 'account_disabled');
      // So must every link that would set its password and every login half-done: an account is
      // disabled because someone else may hold its mailbox or password, and re-enabling it must
      // not hand them a reset requested before.
      await retireUserTokens(tx, userId, PASSWORD_BOUND_PURPOSES);
      // A disabled account's pending invitations die with its authority, in every org.
      invitationsRevoked = await revokeInvitationsBeyondAuthority(
        tx,
        meta,
        actor,
        { userId, roleNow: null },
        'inviter_disabled',
      );
      // Re-enabling the account must not revive its keys: they end with it, in every org.
      keysRevoked = await revokeCreatorKeys(tx, meta, actor, { userId }, 'creator_disabled');
    }
    const orgs = await orgIdsOfUser(tx, userId);
    for (const orgId of orgs.length > 0 ? orgs : [null]) {
      await recordAudit(tx, meta, {
        org_id: orgId,
        actor_user_id: p.userId,
        actor_type: 'superuser',
        action: status === 'disabled' ? 'user.disable' : 'user.enable',
        target_type: 'user',
        target_id: userId,
        outcome: 'success',
        metadata: {
          sessions_ended: ended.length,
          invitations_revoked: invitationsRevoked,
          ...(status === 'disabled' ? { api_keys_revoked: keysRevoked.length } : {}),
        },
      });
    }
    return { user, ended, keys: keysRevoked.map((k) => k.id) };
  });
  auth.revocation.add(out.ended);
  auth.apiKeyRevocations.add(out.keys);
  return out.user;
}

/**
 * Stage a new signing key: published at once, signing from `activatesAt`; the previous one keeps
 * verifying the tokens it signed until they expire.
 */
export async function adminRotateSigningKey(
  auth: AuthContext,
  p: Principal,
  meta: RequestMeta,
  opts: { compromised?: boolean } = {},
) {
  requireSuperuser(p);
  return auth.rotateSigningKey({
    compromised: opts.compromised,
    record: (tx, r) =>
      recordRotation(tx, meta, { actor_user_id: p.userId, actor_type: 'superuser' }, r, opts),
  });
}

/**
 * A signing-key rotation's platform-wide audit entry, by the superuser's route or by the
 * operator's `npm run keys:rotate` (the system).
 */
export function recordRotation(
  tx: Tx,
  meta: RequestMeta,
  actor: Pick<AuditInput, 'actor_user_id' | 'actor_type'>,
  r: RotationResult,
  opts: { compromised?: boolean },
): Promise<void> {
  return recordAudit(tx, meta, {
    org_id: null,
    ...actor,
    action: 'signing_key.rotate',
    target_type: 'signing_key',
    target_id: r.kid,
    outcome: 'success',
    metadata: {
      retired_kid: r.retiredKid,
      activates_at: r.activatesAt.toISOString(),
      ...(opts.compromised ? { compromised: true, withdrawn_kids: r.withdrawnKids.join(' ') } : {}),
    },
  });
}
