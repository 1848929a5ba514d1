// A membership's preferences: one row per (org, user) holding the whole map. The caller owns the
// transaction; row-level security lets the user reach their own row and the org service context
// the rows of its org, and an org's owners and admins delete the row of a membership they removed.
import { sendWithNext, type Tx } from '../db/tenant.ts';

export type PreferenceMap = Record<string, string>;

export interface PreferenceRow {
  preferences: PreferenceMap;
  updated_at: Date;
}

/**
 * Whether the user is an active member of the org, judged under the org row's share lock (held
 * until the transaction ends), for a transaction about to write their preferences. A removal
 * locks the org row exclusively before it deactivates the membership and deletes the row: a write
 * either commits before it (and is deleted by it) or waits for it and then finds no membership.
 * Read without the lock, a write racing the removal finds the membership still active and its
 * insert, waiting only for the removal's delete, then writes a map nobody deletes. One flight: the
 * lock is queued ahead of the read (sendWithNext), which PostgreSQL runs once the lock is held.
 */
export async function activeMemberUnderOrgLock(
  tx: Tx,
  orgId: string,
  userId: string,
): Promise<boolean> {
  await sendWithNext(tx, tx.selectFrom('orgs').select('id').where('id', '=', orgId).forShare());
  const row = await tx
    .selectFrom('memberships')
    .select('user_id')
    .where('org_id', '=', orgId)
    .where('user_id', '=', userId)
    .where('status', '=', 'active')
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Creates the (empty) row unless it exists, so that a read-modify-write can then lock it: two
 * first writes at once would otherwise each read "nothing" and the second would drop the
 * first's key.
 */
export async function ensurePreferencesRow(tx: Tx, orgId: string, userId: string): Promise<void> {
  await tx
    .insertInto('user_preferences')
    .values({ org_id: orgId, user_id: userId })
    .onConflict((oc) => oc.columns(['org_id', 'user_id']).doNothing())
    .execute();
}

/** The row, or undefined when nothing was ever stored. `lock`: FOR UPDATE (read-modify-write). */
export function findPreferences(
  tx: Tx,
  orgId: string,
  userId: string,
  opts: { lock?: boolean } = {},
): Promise<PreferenceRow | undefined> {
  let q = tx
    .selectFrom('user_preferences')
    .select(['preferences', 'updated_at'])
    .where('org_id', '=', orgId)
    .where('user_id', '=', userId);
  if (opts.lock) q = q.forUpdate();
  return q.executeTakeFirst();
}

/** Replaces the whole map of an existing row (see ensurePreferencesRow). */
export function savePreferences(
  tx: Tx,
  orgId: string,
  userId: string,
  preferences: PreferenceMap,
): Promise<PreferenceRow> {
  return tx
    .updateTable('user_preferences')
    .set({ preferences: JSON.stringify(preferences), updated_at: new Date() })
    .where('org_id', '=', orgId)
    .where('user_id', '=', userId)
    .returning(['preferences', 'updated_at'])
    .executeTakeFirstOrThrow();
}

/**
 * Deletes the user's row in the org; returns how many rows went (0 or 1). For a member's removal,
 * after the membership is deactivated in the same transaction: row-level security lets an owner
 * or admin reach a member's row only once the membership is no longer active (migration 0028).
 */
export async function deletePreferences(tx: Tx, orgId: string, userId: string): Promise<number> {
  const rows = await tx
    .deleteFrom('user_preferences')
    .where('org_id', '=', orgId)
    .where('user_id', '=', userId)
    .returning('user_id')
    .execute();
  return rows.length;
}
