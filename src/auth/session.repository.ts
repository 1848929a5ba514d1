// Sessions and their refresh-token chains. The caller owns the transaction.

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

export function findSession(tx: Tx, id: string): Promise<Session | undefined> {
  return tx.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function touchSession(tx: Tx, id: string, orgId?: string): Promise<void> {
  await tx
    .updateTable('sessions')
    .set({ last_used_at: new Date(), ...(orgId ? { org_id: orgId } : {}) })
    .where('id', '=', id)
    .execute();
}

export function liveSessionsOfUser(tx: Tx, userId: string): Promise<Session[]> {
  return tx
    .selectFrom('sessions')
    .selectAll()
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', new Date())
    .orderBy('last_used_at', 'desc')
    .execute();
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

/** Sessions revoked since a moment (every instance polls this to learn others' revocations). */
export function revokedSince(tx: Tx, since: Date) {
  return tx
    .selectFrom('sessions')
    .select(['id', 'revoked_at'])
    .where('revoked_at', '>=', since)
    .execute();
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
