// Voice sessions after their token is issued: reading them (members their own, owners, admins and
// managers the org's), expiring the tokens never used, and revocation — when a login session ends
// (logout, logout-all, session revoke, password change or reset, member removal or demotion, user
// deactivation: each ends sessions through src/auth/revocation.ts) or an API key is revoked, the
// open voice sessions it minted close with reason `revoked` and their participants are removed
// from the room; the sweep catches what another instance revoked. Token
// expiry is not relied on: a participant removed from a self-hosted LiveKit may rejoin until its
// token expires unless the server honours RemoveParticipant's token revocation.
import type { Logger } from 'pino';
import { requirePermission, seesWholeOrg } from '../access/permissions.ts';
import { type Principal, tenantOf } from '../access/principal.ts';
import type { Database } from '../db/database.ts';
import type { VoiceSessionStatus } from '../db/schema.ts';
import { withSystem, withTenant } from '../db/tenant.ts';
import { AppError } from '../http/errors.ts';
import { checkWindow, decodeCursor, page } from '../http/pagination.ts';
import type { Quotas } from '../quotas/quotas.service.ts';
import { releaseVoiceSlots } from '../quotas/voice-slots.ts';
import type { LiveKitServer } from './livekit-server.ts';
import { parseRoom, roomFilter } from './room-names.ts';
import { SESSION_ATTRIBUTE } from './room-token.service.ts';
import {
  expireUnused,
  listVoiceSessions,
  otherActiveSession,
  pruneWebhookEvents,
  type Revoked,
  type RevokeTarget,
  revokeOpenSessions,
} from './voice-session.repository.ts';

export interface VoiceSessionQuery {
  limit: number;
  cursor?: string;
  user_id?: string;
  room_name?: string;
  status?: VoiceSessionStatus;
  since?: string;
  until?: string;
}

/** Applied webhook event ids are kept this long (LiveKit gives up retrying within minutes). */
const WEBHOOK_EVENT_RETENTION_MS = 24 * 3600_000;

/**
 * The voice sessions a caller may read: members their own, owners, admins and managers the org's.
 * Stored history only, so it needs no LiveKit server (one that had LiveKit keeps its history).
 */
export async function listVoiceSessionsFor(database: Database, p: Principal, q: VoiceSessionQuery) {
  requirePermission(p, 'voice_sessions:read');
  const whole = seesWholeOrg(p);
  if (!whole && q.user_id !== undefined && q.user_id !== p.userId) {
    throw new AppError('forbidden', 'Members see their own voice sessions only');
  }
  const before = decodeCursor(q.cursor);
  checkWindow(q.since, q.until);
  const roomName = q.room_name === undefined ? undefined : roomFilter(p.orgId, q.room_name);
  // Tokens that expired unused show as such on every read, not only after the next sweep.
  await withTenant(database, { orgId: p.orgId, userId: null, role: null }, (tx) =>
    expireUnused(tx, new Date(), p.orgId),
  );
  return withTenant(database, tenantOf(p), async (tx) =>
    page(
      await listVoiceSessions(tx, {
        orgId: p.orgId,
        limit: q.limit + 1,
        before,
        userId: whole ? q.user_id : p.userId,
        roomName,
        status: q.status,
        since: q.since,
        until: q.until,
      }),
      q.limit,
    ),
  );
}

export function createVoiceSessions(deps: {
  database: Database;
  server: LiveKitServer;
  logger?: Logger;
  quotas?: Quotas;
}) {
  const { database, server, logger } = deps;

  /** Revoked sessions give their voice-session quota slots back, per org. */
  async function releaseSlots(revoked: readonly Revoked[]): Promise<void> {
    const byOrg = new Map<string, string[]>();
    for (const r of revoked) {
      const orgId = parseRoom(r.room_name)?.orgId;
      if (orgId) byOrg.set(orgId, [...(byOrg.get(orgId) ?? []), r.id]);
    }
    for (const [orgId, ids] of byOrg) await releaseVoiceSlots(deps.quotas, orgId, ids);
  }

  /**
   * Whether the participant connected as `r.identity` holds the token of a session other than
   * the revoked ones. Unknown (LiveKit unreachable): no, so the removal goes ahead.
   */
  async function connectedAsAnother(r: Revoked, revokedIds: readonly string[]): Promise<boolean> {
    try {
      const attributes = await server.participantAttributes(r.room_name, r.identity);
      const claimed = attributes?.[SESSION_ATTRIBUTE];
      return claimed !== undefined && !revokedIds.includes(claimed);
    } catch {
      return false;
    }
  }

  /** Remove the participants of revoked sessions; LiveKit not knowing one is fine. */
  async function evict(revoked: readonly Revoked[]): Promise<void> {
    if (revoked.length === 0) return;
    const ids = revoked.map((r) => r.id);
    const seen = new Set<string>();
    for (const r of revoked) {
      const key = `${r.room_name}\n${r.identity}`;
      if (seen.has(key)) continue;
      seen.add(key);
      // A participant's identity is unique in a room: if another, still valid, session of the
      // same user is the one connected now (a second device), that participant stays. Even when
      // the revoked session was active: the second device's join replaced its connection, and
      // the old connection's leave may be late or lost, so LiveKit is asked whose token the
      // connected participant holds.
      if (
        (await withSystem(database, (tx) =>
          otherActiveSession(tx, r.room_name, r.identity, ids),
        )) &&
        (r.was !== 'active' || (await connectedAsAnother(r, ids)))
      ) {
        continue;
      }
      try {
        await server.removeParticipant(r.room_name, r.identity);
      } catch (err) {
        logger?.warn(
          { err: { message: (err as Error).message }, room: r.room_name },
          'LiveKit did not remove a revoked participant',
        );
      }
    }
    logger?.info({ sessions: revoked.length }, 'voice sessions revoked');
  }

  /**
   * A credential ended, or its org was suspended: close what it minted, give its quota slots back
   * (a revoked session's participant_left changes nothing, so nothing else would before the
   * lease ran out, long after an org's resumption), remove participants.
   */
  async function revokeMinted(target: Exclude<RevokeTarget, { sweep: true }>): Promise<Revoked[]> {
    const revoked = await withSystem(database, (tx) => revokeOpenSessions(tx, target));
    await releaseSlots(revoked);
    await evict(revoked);
    return revoked;
  }

  return {
    /** These login sessions ended: close what they minted and remove its participants. */
    async revokeFor(authSessionIds: readonly string[]): Promise<number> {
      return (await revokeMinted({ authSessionIds })).length;
    },

    /** These API keys were revoked: close what their tokens minted and remove its participants. */
    async revokeForApiKeys(apiKeyIds: readonly string[]): Promise<number> {
      return (await revokeMinted({ apiKeyIds })).length;
    },

    /** These orgs were suspended (the kill switch): close all their sessions, remove everyone. */
    async revokeForOrgs(orgIds: readonly string[]): Promise<number> {
      return (await revokeMinted({ orgIds })).length;
    },

    /**
     * These sessions just joined: the ones whose credential has ended since (login session or
     * API key revoked, member gone, org suspended) close as revoked, their participants removed.
     * Returns their ids.
     */
    async revokeJoinedIfEnded(sessionIds: readonly string[]): Promise<Set<string>> {
      return new Set((await revokeMinted({ joinedIds: sessionIds })).map((r) => r.id));
    },

    /**
     * The periodic sweep: tokens expired unused, open sessions whose login session or API key was
     * revoked or whose user is no longer an active member (a notification missed, a revocation on
     * another instance, or a race with issuing),
     * and old webhook event ids.
     */
    async sweep(now = new Date()): Promise<{ expired: number; revoked: number }> {
      const { expired, revoked } = await withSystem(database, async (tx) => ({
        expired: await expireUnused(tx, now),
        revoked: await revokeOpenSessions(tx, { sweep: true }),
      }));
      await withSystem(database, (tx) =>
        pruneWebhookEvents(tx, new Date(now.getTime() - WEBHOOK_EVENT_RETENTION_MS)),
      );
      await releaseSlots(revoked);
      await evict(revoked);
      return { expired, revoked: revoked.length };
    },
  };
}

export type VoiceSessions = ReturnType<typeof createVoiceSessions>;
