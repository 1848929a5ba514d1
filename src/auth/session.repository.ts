// Sessions and their refresh-token chains. The caller owns the transaction.

import { sql } from 'kysely';
import type { RefreshToken, Session } from '../db/schema.ts';
import { sendWithNext, type Tx } from '../db/tenant.ts';

export async function insertSession(
  tx: Tx,
  row: {
    id: string;
    user_id: string;
    org_id: string;
    user_agent: string | null;
    ip: string | null;
    amr: string[];
    expires_at: Date;
  },
): Promise<void> {
  await sendWithNext(
    tx,
    tx.insertInto('sessions').values({ ...row, amr: JSON.stringify(row.amr) }),
  );
}

export function findSessionForUpdate(tx: Tx, id: string): Promise<Session | undefined> {
  return tx.selectFrom('sessions').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
}

/**
 * The session, locked until the transaction ends, when it is still live (not revoked, within its
 * absolute lifetime); undefined otherwise. An act that must not outlive its session judges it
 * here, under the lock a logout, reset or switch that ends it takes too.
 */
export async function findLiveSessionForUpdate(tx: Tx, id: string): Promise<Session | undefined> {
  const s = await findSessionForUpdate(tx, id);
  return s && !s.revoked_at && s.expires_at.getTime() > Date.now() ? s : undefined;
}

export async function touchSession(tx: Tx, id: string, orgId?: string): Promise<void> {
  await tx
    .updateTable('sessions')
    .set({ last_used_at: new Date(), ...(orgId ? { org_id: orgId } : {}) })
    .where('id', '=', id)
    .execute();
}

/**
 * Sessions that can still be used: not revoked, within their absolute lifetime, and holding a
 * refresh token that still refreshes (unrotated, within REFRESH_TOKEN_IDLE_TTL_SECONDS). A chain
 * that died of idleness is over, though nothing revoked it: its last access token expired long
 * before its refresh token did. One definition for every reader that asks whether a session
 * still stands (the sessions list, the device-socket watcher, LiveKit's joins and sweep; the
 * sweep's SQL, voice-session.repository.ts authSessionEnded, states the same in one statement).
 */
function liveSessions(tx: Tx) {
  const now = new Date();
  return tx
    .selectFrom('sessions as s')
    .where('s.revoked_at', 'is', null)
    .where('s.expires_at', '>', now)
    .where(({ exists, selectFrom }) =>
      exists(
        selectFrom('refresh_tokens as r')
          .select('r.id')
          .whereRef('r.session_id', '=', 's.id')
          .where('r.rotated_at', 'is', null)
          .where('r.expires_at', '>', now),
      ),
    );
}

/** Whether the session still stands (liveSessions' definition): what minting from it needs. */
export async function sessionStands(tx: Tx, sessionId: string): Promise<boolean> {
  return (
    (await liveSessions(tx).select('s.id').where('s.id', '=', sessionId).executeTakeFirst()) !==
    undefined
  );
}

export function liveSessionsOfUser(tx: Tx, userId: string): Promise<Session[]> {
  return liveSessions(tx)
    .selectAll('s')
    .where('s.user_id', '=', userId)
    .orderBy('s.last_used_at', 'desc')
    .execute();
}

/**
 * Of `ids`, the sessions that no longer stand (revoked, past their absolute lifetime, their
 * refresh chain dead of idleness, or gone): what a credential minted by them, still held open
 * (a device socket), must end with. Each with its revoked_reason (null when nothing revoked it):
 * why it ended decides what the holder is told.
 */
export async function endedSessions(
  tx: Tx,
  ids: readonly string[],
): Promise<Map<string, string | null>> {
  if (ids.length === 0) return new Map();
  const live = await liveSessions(tx).select('s.id').where('s.id', 'in', ids).execute();
  const standing = new Set(live.map((r) => r.id));
  const ended = ids.filter((id) => !standing.has(id));
  if (ended.length === 0) return new Map();
  // Read after: a session seen ended above shows its reason here (revoked_reason is written
  // with revoked_at, once).
  const rows = await tx
    .selectFrom('sessions')
    .select(['id', 'revoked_reason'])
    .where('id', 'in', ended)
    .execute();
  const reason = new Map(rows.map((r) => [r.id, r.revoked_reason]));
  return new Map(ended.map((id) => [id, reason.get(id) ?? null]));
}

/** Revoke sessions matching the filter; returns the ids revoked (for the revocation cache). */
export async function revokeSessions(
  tx: Tx,
  f: { userId: string; sessionId?: string; exceptSessionId?: string; orgId?: string },
  reason: string,
): Promise<string[]> {
  let q = tx
    .updateTable('sessions')
    .set({ revoked_at: new Date(), revoked_reason: reason })
    .where('user_id', '=', f.userId)
    .where('revoked_at', 'is', null);
  if (f.sessionId) q = q.where('id', '=', f.sessionId);
  if (f.exceptSessionId) q = q.where('id', '!=', f.exceptSessionId);
  if (f.orgId) q = q.where('org_id', '=', f.orgId);
  const rows = await q.returning('id').execute();
  return rows.map((r) => r.id);
}

/**
 * Sessions revoked since a moment of the database's clock (the first time: `firstLookbackMs`
 * back from now), and that clock's reading before the read, the next watermark: every instance
 * polls this to learn others' revocations. revoked_at is the database's clock too (migration
 * 0020), so no instance's own clock takes part.
 */
export async function revokedSince(tx: Tx, since: Date | null, firstLookbackMs: number) {
  const { now } = await tx
    .selectNoFrom(sql<Date>`clock_timestamp()`.as('now'))
    .executeTakeFirstOrThrow();
  const from = since ?? new Date(now.getTime() - firstLookbackMs);
  // With why: a suspension's sessions tell their holders `org suspended` (src/auth/revocation.ts).
  const rows = await tx
    .selectFrom('sessions')
    .select(['id', 'revoked_reason'])
    .where('revoked_at', '>=', from)
    .execute();
  return { now, rows };
}

export async function insertRefreshToken(
  tx: Tx,
  row: { id: string; session_id: string; user_id: string; token_hash: string; expires_at: Date },
): Promise<void> {
  await sendWithNext(tx, tx.insertInto('refresh_tokens').values(row));
}

/** Locks the row: concurrent refreshes of one token serialise here. */
export function findRefreshTokenForUpdate(
  tx: Tx,
  tokenHash: string,
): Promise<RefreshToken | undefined> {
  return tx
    .selectFrom('refresh_tokens')
    .selectAll()
    .where('token_hash', '=', tokenHash)
    .forUpdate()
    .executeTakeFirst();
}

export async function markRotated(tx: Tx, id: string, replacedBy: string): Promise<void> {
  await tx
    .updateTable('refresh_tokens')
    .set({ rotated_at: new Date(), replaced_by: replacedBy })
    .where('id', '=', id)
    .execute();
}
