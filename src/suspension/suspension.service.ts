// The kill switch: cutting an org off on every channel in one audited act, and resuming it.
//
//   suspend  POST /api/admin/orgs/{id}/suspend   the platform superuser, in person
//   lockdown POST /api/orgs/current/lockdown     the org's owner, in person, re-authenticated with
//                                                the password AND a current TOTP code (with MFA on)
//   resume   POST /api/admin/orgs/{id}/resume    the platform superuser only, whichever kind: a
//                                                lockdown is the "we were breached" button, and
//                                                whoever holds the breached owner credentials must
//                                                not be able to undo it.
//
// One transaction (on the system path: it ends every member's sessions, which no org context
// may touch) locks the org row, marks it, ends every session of the org (their refresh chains
// die with them), reads what must be cut outside the database (live Twilio calls) and writes the
// audit entry with the reason. After the commit: the session ids go to the revocation list and
// the org to the suspended-org list of this instance (device sockets close 1008, LiveKit
// participants are removed - src/realtime/, src/livekit/ listen to both), other instances learn
// both at their next poll (REVOCATION_POLL_MS); then the live calls are hung up through the
// Twilio REST API, and that is audited too. What needs no act because it reads the org row:
// API keys (kept, refused while suspended), webhooks ("not in service", nothing stored), the
// dispatcher (the org's scheduled calls stay pending: paused), LiveKit tokens (refused), logins
// and org switches into it (403 org_suspended). Resuming clears the mark: keys and scheduled
// calls work again; sessions never come back, on any instance: each lifts the org only after its
// revocation list has read the sessions the suspension ended (src/auth/suspended-orgs.ts).
import { isPerson, personActor } from '../access/actor.ts';
import { findActiveMembership } from '../access/membership.repository.ts';
import { requirePermission, requireSuperuser } from '../access/permissions.ts';
import { type Principal, tenantOf } from '../access/principal.ts';
import { recordAudit, recordAuditAlone } from '../audit/audit.ts';
import type { AuthContext } from '../auth/auth-context.ts';
import { verifyPassword } from '../auth/password.ts';
import type { Config } from '../config.ts';
import type { AuditLog, Org, SuspensionKind } from '../db/schema.ts';
import { withSystem, withTenant } from '../db/tenant.ts';
import { AppError, notFound } from '../http/errors.ts';
import { decodeTimedCursor, timedPage } from '../http/pagination.ts';
import type { RequestMeta } from '../http/request-meta.ts';
import { reserveCodeAttempt } from '../mfa/code-attempts.ts';
import { refuseWrongCode } from '../mfa/own-factor.ts';
import { proveSecondFactor } from '../mfa/second-factor.ts';
import { clientKey } from '../security/client-key.ts';
import type { Reservation } from '../security/rate-limits.ts';
import { type CallEnder, liveCalls } from '../telephony/live-calls.ts';
import { findUserById } from '../users/user.repository.ts';
import {
  clearSuspended,
  countPendingScheduledCalls,
  countUsableApiKeys,
  listSuspendedOrgs,
  lockOrg,
  markSuspended,
  revokeOrgSessions,
} from './suspension.repository.ts';

/** What the act did, for its answer (and the audit entry). */
export interface SuspensionOutcome {
  org: Org;
  sessionsEnded: number;
  apiKeysHeld: number;
  scheduledCallsPaused: number;
  liveCalls: { ended: number; failed: number };
}

export interface ResumeOutcome {
  org: Org;
  apiKeysRestored: number;
  scheduledCallsResumed: number;
}

interface Actor {
  userId: string;
  type: AuditLog['actor_type'];
}

export function createSuspension(deps: {
  auth: AuthContext;
  config: Readonly<Config>;
  endCalls: CallEnder;
}) {
  const { auth, config, endCalls } = deps;
  const database = auth.database;

  /** The act itself, inside the caller's transaction-opening `run`. */
  async function cut(
    orgId: string,
    kind: SuspensionKind,
    reason: string,
    actor: Actor,
    meta: RequestMeta,
    authorize?: (tx: Parameters<Parameters<typeof withSystem>[1]>[0]) => Promise<void>,
  ): Promise<SuspensionOutcome> {
    // Written on the sessions it ends and given with them to the revocation list: every
    // instance's live sockets learn from the revocation itself that the suspension ended them.
    const revokedReason = kind === 'lockdown' ? 'org_lockdown' : 'org_suspended';
    const out = await withSystem(database, async (tx) => {
      const current = await lockOrg(tx, orgId);
      if (!current) throw notFound('org');
      await authorize?.(tx);
      if (current.suspended_at) {
        throw new AppError('conflict', 'The organization is already suspended');
      }
      const org = await markSuspended(tx, orgId, { kind, reason, by: actor.userId });
      const ended = await revokeOrgSessions(tx, orgId, revokedReason);
      const scheduledCallsPaused = await countPendingScheduledCalls(tx, orgId);
      const apiKeysHeld = await countUsableApiKeys(tx, orgId);
      const live = await liveCalls(tx, config, orgId);
      await recordAudit(tx, meta, {
        org_id: orgId,
        actor_user_id: actor.userId,
        actor_type: actor.type,
        action: kind === 'lockdown' ? 'org.lockdown' : 'org.suspend',
        target_type: 'org',
        target_id: orgId,
        outcome: 'success',
        metadata: {
          reason,
          sessions_ended: ended.length,
          api_keys_held: apiKeysHeld,
          scheduled_calls_paused: scheduledCallsPaused,
          live_calls: live.callSids.length,
        },
      });
      return { org, ended, scheduledCallsPaused, apiKeysHeld, live };
    });
    // This instance at once; the others at their next poll of either list, or their device-socket
    // watcher's next look. The sessions carry the reason: their live sockets hear `org suspended`
    // whichever of these arrives first.
    auth.suspendedOrgs.suspend([orgId]);
    auth.revocation.add(out.ended, revokedReason);
    const calls = await endCalls(out.live);
    if (out.live.callSids.length > 0) {
      await recordAuditAlone(database, meta, {
        org_id: orgId,
        actor_user_id: actor.userId,
        actor_type: actor.type,
        action: 'org.calls_ended',
        target_type: 'org',
        target_id: orgId,
        outcome: calls.failed === 0 ? 'success' : 'failure',
        metadata: { reason, ended: calls.ended, failed: calls.failed },
      });
    }
    return {
      org: out.org,
      sessionsEnded: out.ended.length,
      apiKeysHeld: out.apiKeysHeld,
      scheduledCallsPaused: out.scheduledCallsPaused,
      liveCalls: calls,
    };
  }

  return {
    /** The platform superuser suspends any org. */
    suspend(p: Principal, orgId: string, reason: string, meta: RequestMeta) {
      requireSuperuser(p);
      return cut(orgId, 'suspension', reason, { userId: p.userId, type: 'superuser' }, meta);
    },

    /**
     * The org's owner locks it down: the password, and a current TOTP code when the owner has MFA
     * (a backup code is not enough: it may sit in the same breached password manager), both
     * counted against the same brute-force limits as a login and an MFA step.
     */
    async lockdown(
      p: Principal,
      input: { reason: string; password: string; code?: string },
      meta: RequestMeta,
    ): Promise<SuspensionOutcome> {
      if (!isPerson(p) || p.actingInOrg || p.mfaPending || !p.sessionId) {
        throw new AppError('forbidden', "Only the org's owner, logged in, can lock it down");
      }
      requirePermission(p, 'org:lockdown');
      const user = await withTenant(database, tenantOf(p), (tx) => findUserById(tx, p.userId));
      if (!user) throw new AppError('unauthenticated');
      const mfa = user.mfa_enabled_at !== null;
      if (mfa && !input.code) {
        throw new AppError('validation_failed', 'A current code from your authenticator app', {
          errors: [{ field: 'code', message: 'is required (two-factor authentication is on)' }],
        });
      }
      const password = await auth.loginGuard.reserve({
        account: user.email,
        ip: clientKey(meta.ip),
      });
      let code: Reservation | undefined;
      try {
        if (mfa) code = await reserveCodeAttempt(auth, p.userId);
      } catch (err) {
        await password.release();
        throw err;
      }
      if (!user.password_hash || !(await verifyPassword(user.password_hash, input.password))) {
        await password.failed();
        await code?.release();
        await recordAuditAlone(database, meta, {
          org_id: p.orgId,
          ...personActor(p),
          action: 'org.lockdown',
          target_type: 'org',
          target_id: p.orgId,
          outcome: 'failure',
          metadata: { reason: 'wrong_password' },
        });
        throw new AppError('invalid_credentials', 'The password is incorrect', {
          errors: [{ field: 'password', message: 'is incorrect' }],
        });
      }
      await password.succeeded();

      let wrongCode: { reused: boolean } | undefined;
      const authorize = async (tx: Parameters<Parameters<typeof withSystem>[1]>[0]) => {
        // Re-read in the act's transaction: a demotion in between wins.
        if ((await findActiveMembership(tx, p.orgId, p.userId))?.role !== 'owner') {
          throw new AppError('forbidden', "Only the org's owner can lock it down");
        }
        if (!mfa) return;
        const current = await findUserById(tx, p.userId);
        const proof = current
          ? await proveSecondFactor(tx, auth, current, { totp: input.code ?? '' })
          : { ok: false as const };
        if (!proof.ok) {
          wrongCode = { reused: proof.reused === true };
          throw new AppError('invalid_code');
        }
      };
      try {
        const out = await cut(
          p.orgId,
          'lockdown',
          input.reason,
          { userId: p.userId, type: 'user' },
          meta,
          authorize,
        );
        await code?.succeeded();
        return out;
      } catch (err) {
        if (wrongCode && code) {
          return refuseWrongCode(auth, code, meta, p, 'org.lockdown', wrongCode.reused);
        }
        await code?.release();
        throw err;
      }
    },

    /** The platform superuser resumes an org, whichever kind of suspension it is under. */
    async resume(
      p: Principal,
      orgId: string,
      reason: string,
      meta: RequestMeta,
    ): Promise<ResumeOutcome> {
      requireSuperuser(p);
      const out = await withSystem(database, async (tx) => {
        const current = await lockOrg(tx, orgId);
        if (!current) throw notFound('org');
        if (!current.suspended_at) {
          throw new AppError('conflict', 'The organization is not suspended');
        }
        const org = await clearSuspended(tx, orgId);
        const apiKeysRestored = await countUsableApiKeys(tx, orgId);
        const scheduledCallsResumed = await countPendingScheduledCalls(tx, orgId);
        await recordAudit(tx, meta, {
          org_id: orgId,
          actor_user_id: p.userId,
          actor_type: 'superuser',
          action: 'org.resume',
          target_type: 'org',
          target_id: orgId,
          outcome: 'success',
          metadata: {
            reason,
            was: current.suspension_kind,
            api_keys_restored: apiKeysRestored,
            scheduled_calls_resumed: scheduledCallsResumed,
          },
        });
        return { org, apiKeysRestored, scheduledCallsResumed };
      });
      await auth.suspendedOrgs.resume([orgId]);
      return out;
    },

    /** Every suspended org (superuser), the latest suspension first. */
    async listSuspended(p: Principal, q: { limit: number; cursor?: string }) {
      requireSuperuser(p);
      const before = decodeTimedCursor(q.cursor);
      const rows = await withTenant(database, tenantOf(p, { platformAdmin: true }), (tx) =>
        listSuspendedOrgs(tx, { limit: q.limit + 1, before }),
      );
      return timedPage(rows, q.limit, (r) => r.suspended_at);
    },
  };
}

export type Suspension = ReturnType<typeof createSuspension>;
