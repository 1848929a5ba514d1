// Switching the org a login acts in. The current session ends and a new one opens in the target
// org (same device, same authentication methods, same absolute expiry — switching back and forth
// never extends a login), so the old access token stops at once and the new one carries the new
// org and the role read from the membership now.
import { findActiveMembership } from '../access/membership.repository.ts';
import { mfaEnrollmentPending } from '../access/org-policy.ts';
import { type Principal, tenantOf } from '../access/principal.ts';
import { lockMember } from '../access/standing.ts';
import { recordAct } from '../audit/audit.ts';
import type { AuthContext } from '../auth/auth-context.ts';
import {
  findLiveSessionForUpdate,
  insertSession,
  revokeSessions,
} from '../auth/session.repository.ts';
import { addRefreshToken, type SessionSubject, tokenPair } from '../auth/session-issue.ts';
import { withTenant } from '../db/tenant.ts';
import { AppError } from '../http/errors.ts';
import { newId } from '../http/ids.ts';
import type { RequestMeta } from '../http/request-meta.ts';
import { findUserById } from '../users/user.repository.ts';
import { requirePerson } from './orgs.ts';

const notAMember = () =>
  new AppError('forbidden', 'You are not an active member of this organization');

export async function switchOrg(auth: AuthContext, p: Principal, orgId: string, meta: RequestMeta) {
  requirePerson(p);
  if (!p.sessionId) throw new AppError('forbidden', 'Only a login session can switch orgs');
  const sessionId = p.sessionId;

  // Under the caller's own context: the membership is the caller's own row, so it is visible
  // whatever the target org is; nothing of the target org is read before it is proven.
  const membership = await withTenant(auth.database, tenantOf(p), (tx) =>
    findActiveMembership(tx, orgId, p.userId),
  );
  if (!membership) throw notAMember();

  const ctx = { orgId, userId: p.userId, role: membership.role, superuser: false };
  const out = await withTenant(auth.database, ctx, async (tx) => {
    // Judged again under the target org's and the account's locks, before anything else is
    // read: a removal, role change, disable or suspension (the kill switch; the superuser's
    // excepted) in between wins, and the role is today's.
    const { org, role } = await lockMember(tx, orgId, p.userId);
    // The session row is locked (after the org and the account, as acts ending sessions lock): a
    // logout or another switch of the same login ending it meanwhile wins, and this switch finds
    // it ended. Read unlocked, both went on, and one login became two (or outlived its logout).
    const old = await findLiveSessionForUpdate(tx, sessionId);
    const user = await findUserById(tx, p.userId);
    if (!old || !user) {
      throw new AppError('unauthenticated', 'The session has ended');
    }

    const subject: SessionSubject = {
      userId: user.id,
      orgId,
      role,
      superuser: user.is_superuser,
      amr: old.amr,
      mfaPending: mfaEnrollmentPending(user, old.amr, org.settings, role),
    };
    const newSessionId = newId();
    await insertSession(tx, {
      id: newSessionId,
      user_id: user.id,
      org_id: orgId,
      user_agent: meta.userAgent,
      ip: meta.ip,
      amr: old.amr,
      expires_at: old.expires_at,
    });
    const rt = await addRefreshToken(tx, auth, {
      sessionId: newSessionId,
      userId: user.id,
      sessionExpiresAt: old.expires_at,
    });
    const ended = await revokeSessions(tx, { userId: user.id, sessionId: old.id }, 'switched_org');
    await recordAct(tx, meta, p, {
      org_id: orgId,
      action: 'auth.switch_org',
      target_type: 'session',
      target_id: newSessionId,
      metadata: { from_org: p.orgId, from_session: old.id },
    });
    const tokens = await tokenPair(auth, subject, newSessionId, rt.token);
    return { user, org, role, tokens, ended };
  });
  auth.revocation.add(out.ended);
  return out;
}
