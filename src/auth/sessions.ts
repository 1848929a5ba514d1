// Ending sessions (logout, logout everywhere, revoking one device) and listing them. Every
// revocation is pushed into this instance's revocation list at once; other instances read it
// from the sessions table within one poll interval.
import { personActor } from '../access/actor.ts';
import type { Principal } from '../access/principal.ts';
import { tenantOf } from '../access/principal.ts';
import { recordAudit } from '../audit/audit.ts';
import type { Session } from '../db/schema.ts';
import { withTenant } from '../db/tenant.ts';
import { notFound } from '../http/errors.ts';
import type { RequestMeta } from '../http/request-meta.ts';
import { lockAccountSessions } from '../users/user.repository.ts';
import type { AuthContext } from './auth-context.ts';
import { liveSessionsOfUser, revokeSessions } from './session.repository.ts';

async function endSessions(
  auth: AuthContext,
  p: Principal,
  meta: RequestMeta,
  filter: { sessionId?: string; exceptSessionId?: string },
  action: string,
  reason: string,
  /** A session the caller named: ending none is a 404, and nothing is audited. */
  named = false,
): Promise<string[]> {
  const ids = await withTenant(auth.database, tenantOf(p), async (tx) => {
    // A switch-org of another device replaces its session within its own transaction: an UPDATE
    // of the live sessions alone waited on the old one, found it ended, and never saw the new.
    await lockAccountSessions(tx, p.userId);
    const revoked = await revokeSessions(tx, { userId: p.userId, ...filter }, reason);
    // Refused before the audit entry: a revoke that ended nothing is no act of the caller's, and
    // an id it does not own (another user's session) has no place in its org's trail.
    if (named && revoked.length === 0) throw notFound('session');
    await recordAudit(tx, meta, {
      org_id: p.orgId,
      ...personActor(p),
      action,
      target_type: 'session',
      target_id: filter.sessionId ?? null,
      outcome: 'success',
      metadata: { sessions_ended: revoked.length },
    });
    return revoked;
  });
  auth.revocation.add(ids);
  return ids;
}

export async function logout(auth: AuthContext, p: Principal, meta: RequestMeta): Promise<void> {
  if (!p.sessionId) return;
  await endSessions(auth, p, meta, { sessionId: p.sessionId }, 'auth.logout', 'logout');
}

export async function logoutAll(auth: AuthContext, p: Principal, meta: RequestMeta): Promise<void> {
  await endSessions(auth, p, meta, {}, 'auth.logout_all', 'logout_all');
}

export async function revokeOwnSession(
  auth: AuthContext,
  p: Principal,
  sessionId: string,
  meta: RequestMeta,
): Promise<void> {
  // Row-level security limits the update to the caller's own sessions: another user's id
  // matches nothing and answers like an unknown one.
  await endSessions(auth, p, meta, { sessionId }, 'auth.session_revoke', 'revoked_by_user', true);
}

export function listSessions(auth: AuthContext, p: Principal): Promise<Session[]> {
  return withTenant(auth.database, tenantOf(p), (tx) => liveSessionsOfUser(tx, p.userId));
}

export function sessionJson(s: Session, currentSessionId?: string) {
  return {
    id: s.id,
    user_agent: s.user_agent,
    ip: s.ip,
    created_at: s.created_at.toISOString(),
    last_used_at: s.last_used_at.toISOString(),
    expires_at: s.expires_at.toISOString(),
    current: s.id === currentSessionId,
  };
}
