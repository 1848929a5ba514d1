// LiveKit's webhooks (POST /webhooks/livekit): verified with the SDK's WebhookReceiver against
// the raw body and the Authorization header before anything is read — forged, stale (the JWT
// LiveKit signs lives 5 minutes) or body-changed → 401, nothing stored. The room name maps the
// event to its org (the namespace); the work then runs in that org's service context, so
// row-level security confines it there. Each event id is applied once: LiveKit retries until it
// is acknowledged, and a retry is answered 200 without being applied again.
import type { WebhookEvent } from 'livekit-server-sdk';
import type { Logger } from 'pino';
import type { Database } from '../db/database.ts';
import type { VoiceSession } from '../db/schema.ts';
import { type Tx, withTenant } from '../db/tenant.ts';
import { AppError } from '../http/errors.ts';
import type { Quotas } from '../quotas/quotas.service.ts';
import { holdVoiceSlot, releaseVoiceSlots } from '../quotas/voice-slots.ts';
import type { LiveKitServer } from './livekit-server.ts';
import { parseRoom } from './room-names.ts';
import { SESSION_ATTRIBUTE } from './room-token.service.ts';
import {
  activeOf,
  activeSessionsOfRoom,
  findParticipantSession,
  markEnded,
  markEndedOverQuota,
  markJoined,
  markLeftEnded,
  markReconnected,
  markRejoined,
  recordWebhookEvent,
  webhookEventSeen,
} from './voice-session.repository.ts';

export type WebhookOutcome = 'applied' | 'duplicate' | 'ignored';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** How far back an event's own time is believed: longer than any voice session lasts. */
const EVENT_TIME_PAST_MS = 30 * 86_400_000;
/** How far ahead of this server's clock: LiveKit's clock may run a little fast. */
const EVENT_TIME_AHEAD_MS = 5 * 60_000;

/**
 * An event's time (int64 seconds, or milliseconds, as bigint), believed only near this server's
 * clock; undefined when unset (0) or out of that range, and the caller then takes the time of
 * receipt. A signed event still carries the clock of whoever signed it: an int64 far out of range
 * made an Invalid Date or a duration past its column (a 500, which LiveKit retries until it gives
 * up), and a year past 9999 a timestamp no client parses.
 */
function at(seconds: bigint | undefined, ms?: bigint): Date | undefined {
  const t =
    ms && ms > 0n ? Number(ms) : seconds && seconds > 0n ? Number(seconds) * 1000 : undefined;
  if (t === undefined) return undefined;
  const now = Date.now();
  return t >= now - EVENT_TIME_PAST_MS && t <= now + EVENT_TIME_AHEAD_MS ? new Date(t) : undefined;
}

/**
 * The participant's connection (LiveKit's sid, new at every connect): what tells a reconnect's
 * join from the old connection's leave, and a late join from one not yet seen.
 */
function participantSid(event: WebhookEvent): string | undefined {
  const sid = event.participant?.sid;
  return sid && sid.length <= 128 ? sid : undefined;
}

/** The instance of the room the event is about (LiveKit's room sid, new at every creation). */
function roomSid(event: WebhookEvent): string | undefined {
  const sid = event.room?.sid;
  return sid && sid.length <= 128 ? sid : undefined;
}

/** The voice session the participant's token claims (its attribute), when it names one. */
function claimedSession(event: WebhookEvent): string | undefined {
  const claimed = event.participant?.attributes?.[SESSION_ATTRIBUTE];
  return claimed && UUID_RE.test(claimed) ? claimed : undefined;
}

export function createLiveKitWebhooks(deps: {
  database: Database;
  server: LiveKitServer;
  /** Closes (revoked) the joined sessions whose credential has ended; returns their ids. */
  revokeJoinedIfEnded: (sessionIds: readonly string[]) => Promise<Set<string>>;
  quotas?: Quotas;
  logger?: Logger;
}) {
  const { database, server } = deps;
  /**
   * Sessions an applied event joined or ended, for the quota once its transaction committed, and
   * participants to remove from their room then (a revoked session's token joining again, a join
   * over the org's limit).
   */
  type Touched = {
    /** ended: what a refused join restores (a rejoin keeps the end of its earlier visit). */
    joined: { id: string; identity: string; startedAt: Date | null; endedAt: Date | null }[];
    ended: string[];
    evict: { room: string; identity: string }[];
  };

  /** The org service: the org acting as itself, confined to its own rows. */
  const inOrg = <T>(orgId: string, fn: (tx: Tx) => Promise<T>) =>
    withTenant(database, { orgId, userId: null, role: null }, fn);

  async function applyOnce(
    tx: Tx,
    event: WebhookEvent,
    orgId: string,
    apply: () => Promise<void>,
  ): Promise<WebhookOutcome> {
    const fresh = await recordWebhookEvent(tx, { id: event.id, org_id: orgId, event: event.event });
    if (!fresh) return 'duplicate';
    await apply();
    return 'applied';
  }

  /**
   * A participant joined. A room token joins as often as it likes until it expires, and so do
   * the fresh tokens LiveKit hands the connected client (a client that reconnects after a network
   * change leaves and joins again), so the session its token claims is opened again whatever it
   * was:
   * - issued or expired unused → active (its slot held for the call);
   * - ended (left, room finished) → active again, its slot held again: an untracked participant
   *   would escape every revocation (which closes open sessions only) and the quota;
   * - revoked → the participant is removed from the room again (older LiveKit servers let a
   *   token that RemoveParticipant did not revoke join once more).
   * Only the claimed session (the token's own attribute) is reopened or evicted: a participant
   * found by identity alone may be another, valid token of the same person.
   * Events are not ordered, so the connection (sid) decides the rest:
   * - active, another connection → the participant reconnected (its new join reported before the
   *   old connection's leave): the session follows the new connection, and stays open;
   * - the connection the session last saw → stale (a join reported after that connection's leave,
   *   or after the revocation that removed it): nothing changes.
   */
  function participantJoined(
    tx: Tx,
    event: WebhookEvent,
    orgId: string,
    room: string,
    touched: Touched,
  ) {
    const sid = participantSid(event);
    const conn = { participantSid: sid, roomSid: roomSid(event) };
    const statuses: VoiceSession['status'][] = claimedSession(event)
      ? ['issued', 'expired', 'ended', 'revoked', ...(sid ? (['active'] as const) : [])]
      : ['issued', 'expired'];
    return participantEvent(tx, event, orgId, room, statuses, (s, when) => {
      if (sid && s.participant_sid === sid) return null;
      const started = at(event.participant?.joinedAt, event.participant?.joinedAtMs) ?? when;
      // No cut-off at the token's expiry: LiveKit hands a connected client fresh tokens with the
      // same grants and attributes (this session's id among them), so a reconnect or a rejoin
      // after the first token's expiry is real. Ignoring it left that participant untracked: out
      // of reach of revocation and the quota, and its old connection's leave ended the session.
      if (s.status === 'active' && sid) {
        // Its slot is held already; the quota step renews it, and the credential is judged again.
        touched.joined.push({
          id: s.id,
          identity: s.identity,
          startedAt: s.started_at,
          endedAt: null,
        });
        return () => markReconnected(tx, s.id, conn);
      }
      if (s.status === 'revoked') {
        touched.evict.push({ room, identity: s.identity });
        return async () => {};
      }
      touched.joined.push({
        id: s.id,
        identity: s.identity,
        startedAt: s.status === 'ended' ? s.started_at : started,
        endedAt: s.status === 'ended' ? s.ended_at : null,
      });
      if (s.status === 'ended') return () => markRejoined(tx, s.id, conn);
      return () => markJoined(tx, s.id, started, conn);
    });
  }

  function participantLeft(
    tx: Tx,
    event: WebhookEvent,
    orgId: string,
    room: string,
    touched: Touched,
  ) {
    const sid = participantSid(event);
    // An ended session too, when the token claims it: a rejoin's connection can be reported
    // gone before its join is (events are unordered). Recording that connection on the session
    // makes its late join stale; ignored, the join would reopen the session, holding a slot for
    // nobody until room_finished or the lease's expiry.
    const statuses: VoiceSession['status'][] =
      claimedSession(event) && sid ? ['active', 'issued', 'ended'] : ['active', 'issued'];
    return participantEvent(tx, event, orgId, room, statuses, (s, when) => {
      if (s.status === 'ended') {
        return sid && s.participant_sid !== sid ? () => markLeftEnded(tx, s.id, sid) : null;
      }
      // A connection the session no longer follows (its participant reconnected) left: the
      // session stays with the new one.
      if (sid && s.participant_sid && s.participant_sid !== sid) return null;
      touched.ended.push(s.id);
      const started =
        s.started_at ?? at(event.participant?.joinedAt, event.participant?.joinedAtMs) ?? null;
      return () =>
        markEnded(tx, s.id, {
          startedAt: started,
          endedAt: when,
          reason: 'left',
          participantSid: sid,
        });
    });
  }

  async function participantEvent(
    tx: Tx,
    event: WebhookEvent,
    orgId: string,
    room: string,
    statuses: VoiceSession['status'][],
    decide: (s: VoiceSession, when: Date) => (() => Promise<void>) | null,
  ): Promise<WebhookOutcome> {
    const identity = event.participant?.identity;
    if (!identity || !UUID_RE.test(identity)) return 'ignored';
    const session = await findParticipantSession(tx, orgId, room, identity, {
      sessionId: claimedSession(event),
      statuses,
    });
    if (!session) return 'ignored';
    const apply = decide(session, at(event.createdAt) ?? new Date());
    if (!apply) return 'ignored';
    return applyOnce(tx, event, orgId, apply);
  }

  async function roomFinished(
    tx: Tx,
    event: WebhookEvent,
    orgId: string,
    room: string,
    touched: Touched,
  ): Promise<WebhookOutcome> {
    // Only the instance that finished: a late delivery must not end a later one's sessions.
    const sessions = await activeSessionsOfRoom(tx, orgId, room, roomSid(event));
    if (sessions.length === 0) return 'ignored';
    touched.ended.push(...sessions.map((s) => s.id));
    const when = at(event.createdAt) ?? new Date();
    return applyOnce(tx, event, orgId, async () => {
      for (const s of sessions) {
        await markEnded(tx, s.id, {
          startedAt: s.started_at,
          endedAt: when,
          reason: 'room_finished',
        });
      }
    });
  }

  /**
   * An event LiveKit delivers again because its first delivery got no answer: what it changed
   * may be committed while the quota step after the commit never ran (the process stopped, a
   * statement of the step failed). The session its token claims goes through that step again:
   * - participant_joined, still active: its slot is held (a renewal when it already is), or it
   *   ends quota_exceeded and is removed. Left alone, it would stay in its room holding no slot,
   *   above the org's limit;
   * - participant_left, no longer open: its slot is given back again (a release of a slot not
   *   held changes nothing). Left alone, the slot would stay taken until its lease expired
   *   (QUOTA_LEASE_SECONDS, 4 hours by default).
   */
  async function retried(
    tx: Tx,
    event: WebhookEvent,
    orgId: string,
    room: string,
    touched: Touched,
  ): Promise<void> {
    const identity = event.participant?.identity;
    const sessionId = claimedSession(event);
    const joined = event.event === 'participant_joined';
    if ((!joined && event.event !== 'participant_left') || !sessionId || !identity) return;
    const s = await findParticipantSession(tx, orgId, room, identity, {
      sessionId,
      statuses: joined ? ['active'] : ['ended', 'revoked', 'expired'],
    });
    if (!s) return;
    if (joined) touched.joined.push({ id: s.id, identity, startedAt: s.started_at, endedAt: null });
    else touched.ended.push(s.id);
  }

  /** The events that change a voice session; every other event is ignored. */
  const handlers = new Map<string, typeof roomFinished>([
    ['participant_joined', participantJoined],
    ['participant_left', participantLeft],
    ['room_finished', roomFinished],
  ]);

  return {
    async receive(body: string, authorization: string | undefined): Promise<WebhookOutcome> {
      let event: WebhookEvent;
      try {
        event = await server.receiveWebhook(body, authorization);
      } catch {
        // Never say which check failed, nor echo anything received.
        throw new AppError('invalid_webhook_token');
      }
      const room = event.room?.name ? parseRoom(event.room.name) : null;
      if (!room || !event.id || event.id.length > 128) return 'ignored';
      const full = event.room!.name;
      const handle = handlers.get(event.event);
      if (!handle) return 'ignored';
      const touched: Touched = { joined: [], ended: [], evict: [] };
      const outcome = await inOrg(room.orgId, async (tx) => {
        // A retry of an event already applied is answered as one, whatever the rows say now;
        // a join's quota step (after the commit) is taken again.
        if (!(await webhookEventSeen(tx, event.id))) {
          const applied = await handle(tx, event, room.orgId, full, touched);
          if (applied !== 'duplicate') return applied;
          // A concurrent delivery of the event applied it meanwhile: what this one noted on
          // the way is not its to act on.
          touched.joined.length = 0;
          touched.ended.length = 0;
          touched.evict.length = 0;
        }
        await retried(tx, event, room.orgId, full, touched);
        return 'duplicate';
      });
      // The voice-session quota: a join holds its slot for the call, an end releases it. A join
      // the org has no slot for (a rejoin after its slot went back, a join after the issue-time
      // hold lapsed) is refused after the fact: the session ends and the participant is removed,
      // as a token asked for at the limit would have been refused.
      if (outcome !== 'ignored') {
        // A token stays valid after its credential ends, and a session that had ended (left)
        // was closed by no revocation: a join is let in only while its credential stands.
        const cut =
          touched.joined.length > 0
            ? await deps.revokeJoinedIfEnded(touched.joined.map((j) => j.id))
            : new Set<string>();
        const held: string[] = [];
        for (const j of touched.joined) {
          if (cut.has(j.id)) continue;
          if (await holdVoiceSlot(deps.quotas, room.orgId, j.id)) {
            held.push(j.id);
            continue;
          }
          // Only if nothing ended it meanwhile (its participant_left): a rejoin keeps the end
          // of its earlier visit, so its duration does not count the time it was away.
          const ended = await inOrg(room.orgId, (tx) =>
            markEndedOverQuota(tx, j.id, {
              startedAt: j.startedAt,
              endedAt: j.endedAt ?? new Date(),
            }),
          );
          // Whatever slot a concurrent rejoin of the session took goes back with it.
          await releaseVoiceSlots(deps.quotas, room.orgId, [j.id]);
          if (ended) touched.evict.push({ room: full, identity: j.identity });
        }
        await releaseVoiceSlots(deps.quotas, room.orgId, touched.ended);
        for (const e of touched.evict) {
          // LiveKit not knowing the participant (already gone) is fine; the event stays applied.
          await server.removeParticipant(e.room, e.identity).catch((err) => {
            deps.logger?.warn(
              { err: { message: (err as Error).message }, room: e.room },
              'livekit participant not removed',
            );
          });
        }
        // Last, so that a failure of this read leaves the releases and removals above done. The
        // slot is taken after the join's transaction committed (the counter is not in it), so
        // the participant's participant_left (or room_finished, or a revocation) may have ended
        // the session and released its slot in between: the slot just taken would then be held
        // for a participant who is gone until its lease expires, the org short of one session.
        // Every end releases after its commit, so a session read still active once the slot is
        // held is released by its end later, and one no longer active is released here. (A rejoin
        // of the session racing this release may lose its slot, as it may to the leave's own
        // release: a slot short for a while, never one held for nobody.)
        if (deps.quotas && held.length > 0) {
          const open = new Set(await inOrg(room.orgId, (tx) => activeOf(tx, room.orgId, held)));
          await releaseVoiceSlots(
            deps.quotas,
            room.orgId,
            held.filter((id) => !open.has(id)),
          );
        }
      }
      return outcome;
    },
  };
}

export type LiveKitWebhooks = ReturnType<typeof createLiveKitWebhooks>;
