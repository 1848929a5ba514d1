// Voice sessions and the LiveKit webhook events already applied. Every function takes the
// caller's transaction first: people issue (their own rows) and read; the org service (verified
// webhooks) and the system path (expiry, revocation) move sessions on — row-level security holds
// the same split (migration 0011).
import { type ExpressionBuilder, sql } from 'kysely';
import { type LogPage, logPage } from '../db/log-page.ts';
import type {
  DB,
  VoiceSession,
  VoiceSessionEndReason,
  VoiceSessionSource,
  VoiceSessionStatus,
} from '../db/schema.ts';
import type { Tx } from '../db/tenant.ts';

export const OPEN_STATUSES: readonly VoiceSessionStatus[] = ['issued', 'active'];

export interface NewVoiceSession {
  id: string;
  org_id: string;
  user_id: string;
  auth_session_id: string | null;
  api_key_id: string | null;
  room_name: string;
  source: VoiceSessionSource;
  token_expires_at: Date;
}

export async function insertVoiceSession(tx: Tx, s: NewVoiceSession): Promise<void> {
  await tx
    .insertInto('voice_sessions')
    .values({ ...s, identity: s.user_id, status: 'issued' })
    .execute();
}

export interface VoiceSessionFilters extends LogPage {
  orgId: string;
  userId?: string;
  roomName?: string;
  status?: VoiceSessionStatus;
}

export function listVoiceSessions(tx: Tx, f: VoiceSessionFilters): Promise<VoiceSession[]> {
  let q = tx
    .selectFrom('voice_sessions')
    .selectAll()
    .where('org_id', '=', f.orgId)
    .where(logPage('created_at', f));
  if (f.userId) q = q.where('user_id', '=', f.userId);
  if (f.roomName) q = q.where('room_name', '=', f.roomName);
  if (f.status) q = q.where('status', '=', f.status);
  return q.orderBy('id', 'desc').limit(f.limit).execute();
}

/**
 * Tokens that expired unused: `expired`, ended when the token did. With `orgId`, that org's only
 * (the org service, on a read); without, every org's (the system sweep).
 */
export async function expireUnused(tx: Tx, now: Date, orgId?: string): Promise<number> {
  let q = tx
    .updateTable('voice_sessions')
    .set((eb) => ({
      status: 'expired',
      end_reason: 'expired',
      ended_at: eb.ref('token_expires_at'),
    }))
    .where('status', '=', 'issued')
    .where('token_expires_at', '<', now);
  if (orgId) q = q.where('org_id', '=', orgId);
  const res = await q.executeTakeFirst();
  return Number(res.numUpdatedRows);
}

// ---- Webhooks (the org service context of the room's org) ---------------------------------

/** The open session a participant event is about: by the id the token carried, else the newest. */
export function findParticipantSession(
  tx: Tx,
  orgId: string,
  room: string,
  identity: string,
  opts: { sessionId?: string; statuses: readonly VoiceSessionStatus[] },
): Promise<VoiceSession | undefined> {
  let q = tx
    .selectFrom('voice_sessions')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('room_name', '=', room)
    .where('identity', '=', identity)
    .where('status', 'in', opts.statuses);
  if (opts.sessionId) q = q.where('id', '=', opts.sessionId);
  return q.orderBy('id', 'desc').limit(1).forUpdate().executeTakeFirst();
}

/**
 * The active sessions of a room, of the instance `roomSid` when the event names one: sessions
 * that joined a later instance of the same name are not that room's. A session whose join named
 * no instance (joined before migration 0024) is taken to be in it.
 */
export function activeSessionsOfRoom(
  tx: Tx,
  orgId: string,
  room: string,
  roomSid: string | undefined,
) {
  let q = tx
    .selectFrom('voice_sessions')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('room_name', '=', room)
    .where('status', '=', 'active');
  if (roomSid)
    q = q.where((eb) => eb.or([eb('room_sid', '=', roomSid), eb('room_sid', 'is', null)]));
  return q.forUpdate().execute();
}

/** Record a webhook event id; false when it was already recorded (a retry). */
export async function recordWebhookEvent(
  tx: Tx,
  e: { id: string; org_id: string; event: string },
): Promise<boolean> {
  const row = await tx
    .insertInto('livekit_webhook_events')
    .values(e)
    .onConflict((oc) => oc.column('id').doNothing())
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

/** Whether a webhook event id was already applied (a retry). */
export async function webhookEventSeen(tx: Tx, id: string): Promise<boolean> {
  const row = await tx
    .selectFrom('livekit_webhook_events')
    .select('id')
    .where('id', '=', id)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * The participant of an ended session joined again with its still-valid token: the session is
 * open again, from its first join (its duration, when it ends, spans both).
 */
export async function markRejoined(tx: Tx, id: string, conn: Connection): Promise<void> {
  await tx
    .updateTable('voice_sessions')
    .set({
      status: 'active',
      ended_at: null,
      end_reason: null,
      duration_seconds: null,
      ...sidsOf(conn),
    })
    .where('id', '=', id)
    .execute();
}

export async function markJoined(
  tx: Tx,
  id: string,
  startedAt: Date,
  conn: Connection,
): Promise<void> {
  await tx
    .updateTable('voice_sessions')
    .set({
      status: 'active',
      started_at: startedAt,
      ended_at: null,
      end_reason: null,
      ...sidsOf(conn),
    })
    .where('id', '=', id)
    .execute();
}

/**
 * The active session's participant reconnected: a new connection (sid) joined before the old
 * one was reported gone. The session follows the new one; the old one's leave will not end it.
 */
export async function markReconnected(tx: Tx, id: string, conn: Connection): Promise<void> {
  await tx
    .updateTable('voice_sessions')
    .set(sidsOf(conn))
    .where('id', '=', id)
    .where('status', '=', 'active')
    .execute();
}

/**
 * A connection of an ended session's participant was reported gone (a rejoin whose leave came
 * before its join): the session stays ended, and now knows that connection, so its late join is
 * stale.
 */
export async function markLeftEnded(tx: Tx, id: string, participantSid: string): Promise<void> {
  await tx
    .updateTable('voice_sessions')
    .set({ participant_sid: participantSid })
    .where('id', '=', id)
    .where('status', '=', 'ended')
    .execute();
}

/** The connection a participant event is about: LiveKit's participant and room sids. */
export interface Connection {
  participantSid: string | undefined;
  roomSid: string | undefined;
}

/** An event that names no sid leaves the one recorded as it is. */
function sidsOf(conn: Connection) {
  return {
    ...(conn.participantSid ? { participant_sid: conn.participantSid } : {}),
    ...(conn.roomSid ? { room_sid: conn.roomSid } : {}),
  };
}

/**
 * The participant joined over the org's voice-session limit and is removed from the room: its
 * session ends, unless an event (its participant_left) ended it first. True when it ended here.
 */
export async function markEndedOverQuota(
  tx: Tx,
  id: string,
  e: { startedAt: Date | null; endedAt: Date },
): Promise<boolean> {
  const r = await tx
    .updateTable('voice_sessions')
    .set(ending({ ...e, reason: 'quota_exceeded' }))
    .where('id', '=', id)
    .where('status', '=', 'active')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Which of these sessions are active now (a participant in the room). */
export async function activeOf(tx: Tx, orgId: string, ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await tx
    .selectFrom('voice_sessions')
    .select('id')
    .where('org_id', '=', orgId)
    .where('id', 'in', [...ids])
    .where('status', '=', 'active')
    .execute();
  return rows.map((r) => r.id);
}

export async function markEnded(
  tx: Tx,
  id: string,
  e: {
    startedAt: Date | null;
    endedAt: Date;
    reason: VoiceSessionEndReason;
    /** The participant whose leave ended it: a later join of that same connection is stale. */
    participantSid?: string;
  },
): Promise<void> {
  await tx
    .updateTable('voice_sessions')
    .set({ ...ending(e), ...sidsOf({ participantSid: e.participantSid, roomSid: undefined }) })
    .where('id', '=', id)
    .execute();
}

/** The columns of an ended session: its visit, how long it lasted and why it ended. */
function ending(e: { startedAt: Date | null; endedAt: Date; reason: VoiceSessionEndReason }) {
  return {
    status: 'ended' as const,
    started_at: e.startedAt,
    ended_at: e.endedAt,
    duration_seconds: durationSeconds(e.startedAt, e.endedAt),
    end_reason: e.reason,
  };
}

function durationSeconds(start: Date | null, end: Date): number | null {
  if (!start) return null;
  return Math.max(0, Math.round((end.getTime() - start.getTime()) / 1000));
}

/** Webhook events older than this are forgotten (LiveKit stops retrying long before). */
export async function pruneWebhookEvents(tx: Tx, before: Date): Promise<void> {
  await tx.deleteFrom('livekit_webhook_events').where('received_at', '<', before).execute();
}

// ---- Revocation (the system path: sessions of any org) ------------------------------------

export interface Revoked {
  id: string;
  room_name: string;
  identity: string;
  /** The status before revocation: an `active` one has a participant in the room. */
  was: VoiceSessionStatus;
}

type SessionsEb = ExpressionBuilder<DB, 'voice_sessions'>;

/** The user is no longer an active user with an active membership of the session's org. */
function memberGone(eb: SessionsEb) {
  return eb.not(
    eb.exists(
      eb
        .selectFrom('memberships')
        .innerJoin('users', 'users.id', 'memberships.user_id')
        .select(sql.lit(1).as('one'))
        .whereRef('memberships.org_id', '=', 'voice_sessions.org_id')
        .whereRef('memberships.user_id', '=', 'voice_sessions.user_id')
        .where('memberships.status', '=', 'active')
        .where('users.status', '=', 'active'),
    ),
  );
}

/**
 * The login session that minted it has ended: revoked, past its absolute expiry, or its refresh
 * chain dead of idleness (no unrotated refresh token still valid) — as sessionStands
 * (src/auth/session.repository.ts) judges it when a token is minted; an ended session ends what it minted the same
 * as a revoked one.
 */
function authSessionEnded(eb: SessionsEb) {
  return eb.exists(
    eb
      .selectFrom('sessions')
      .select(sql.lit(1).as('one'))
      .whereRef('sessions.id', '=', 'voice_sessions.auth_session_id')
      .where((s) =>
        s.or([
          s('sessions.revoked_at', 'is not', null),
          s('sessions.expires_at', '<=', sql<Date>`now()`),
          s.not(
            s.exists(
              s
                .selectFrom('refresh_tokens')
                .select(sql.lit(1).as('one'))
                .whereRef('refresh_tokens.session_id', '=', 'sessions.id')
                .where('refresh_tokens.rotated_at', 'is', null)
                .where('refresh_tokens.expires_at', '>', sql<Date>`now()`),
            ),
          ),
        ]),
      ),
  );
}

/** The API key that minted it has ended: revoked, or past its expiry. */
function apiKeyEnded(eb: SessionsEb) {
  return eb.exists(
    eb
      .selectFrom('api_keys')
      .select(sql.lit(1).as('one'))
      .whereRef('api_keys.id', '=', 'voice_sessions.api_key_id')
      .where((k) =>
        k.or([
          k('api_keys.revoked_at', 'is not', null),
          k('api_keys.expires_at', '<=', sql<Date>`now()`),
        ]),
      ),
  );
}

/** The session's org is suspended (the kill switch). */
function orgSuspended(eb: SessionsEb) {
  return eb.exists(
    eb
      .selectFrom('orgs')
      .select(sql.lit(1).as('one'))
      .whereRef('orgs.id', '=', 'voice_sessions.org_id')
      .where('orgs.suspended_at', 'is not', null),
  );
}

/**
 * Which open sessions to revoke:
 * - `authSessionIds`: these login sessions ended. Those they minted, and those API keys minted
 *   for the same users where the user is no longer an active member (removed, disabled).
 * - `apiKeyIds`: these API keys were revoked. Those their tokens minted.
 * - `orgIds`: these orgs were just suspended. Every open session of theirs.
 * - `sweep`: every open session whose login session or API key is revoked, whose user is gone,
 *   or whose org is suspended (the periodic sweep, for what a missed notification, another
 *   instance or a race with issuing left open).
 * - `joinedIds`: these sessions just joined (or rejoined), on the sweep's conditions: a session
 *   that had ended was closed by no revocation, and its still-valid token may come back.
 */
export type RevokeTarget =
  | { authSessionIds: readonly string[] }
  | { apiKeyIds: readonly string[] }
  | { orgIds: readonly string[] }
  | { joinedIds: readonly string[] }
  | { sweep: true };

export async function revokeOpenSessions(tx: Tx, target: RevokeTarget): Promise<Revoked[]> {
  let q = tx
    .selectFrom('voice_sessions')
    .select(['id', 'room_name', 'identity', 'status'])
    .where('status', 'in', OPEN_STATUSES);
  if ('orgIds' in target) {
    if (target.orgIds.length === 0) return [];
    q = q.where('org_id', 'in', [...target.orgIds]);
  } else if ('apiKeyIds' in target) {
    if (target.apiKeyIds.length === 0) return [];
    q = q.where('api_key_id', 'in', [...target.apiKeyIds]);
  } else if ('authSessionIds' in target) {
    const ids = [...target.authSessionIds];
    if (ids.length === 0) return [];
    q = q.where((eb) =>
      eb.or([
        eb('auth_session_id', 'in', ids),
        eb.and([
          eb('auth_session_id', 'is', null),
          eb(
            'user_id',
            'in',
            eb.selectFrom('sessions').select('sessions.user_id').where('sessions.id', 'in', ids),
          ),
          memberGone(eb),
        ]),
      ]),
    );
  } else {
    if ('joinedIds' in target) {
      if (target.joinedIds.length === 0) return [];
      q = q.where('id', 'in', [...target.joinedIds]);
    }
    q = q.where((eb) =>
      eb.or([authSessionEnded(eb), apiKeyEnded(eb), memberGone(eb), orgSuspended(eb)]),
    );
  }
  const waits = !('sweep' in target);
  // The sweep skips rows a webhook is updating right now (it comes back); a notification waits.
  const rows = await (waits ? q.forUpdate() : q.forUpdate().skipLocked()).execute();
  if (rows.length === 0) return [];
  await tx
    .updateTable('voice_sessions')
    .set({
      status: 'revoked',
      end_reason: 'revoked',
      ended_at: sql<Date>`now()`,
      duration_seconds: sql<number | null>`CASE WHEN started_at IS NULL THEN NULL
        ELSE greatest(0, round(extract(epoch FROM now() - started_at)))::integer END`,
    })
    .where(
      'id',
      'in',
      rows.map((r) => r.id),
    )
    .execute();
  return rows.map((r) => ({
    id: r.id,
    room_name: r.room_name,
    identity: r.identity,
    was: r.status,
  }));
}

/** Whether another session of this participant is in the room now (it took the identity over). */
export async function otherActiveSession(
  tx: Tx,
  room: string,
  identity: string,
  exceptIds: readonly string[],
): Promise<boolean> {
  const row = await tx
    .selectFrom('voice_sessions')
    .select('id')
    .where('room_name', '=', room)
    .where('identity', '=', identity)
    .where('status', '=', 'active')
    .where('id', 'not in', [...exceptIds])
    .executeTakeFirst();
  return row !== undefined;
}
