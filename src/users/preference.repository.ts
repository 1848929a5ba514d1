// A membership's preferences: one row per (org, user) holding the whole map. The caller owns the
// transaction; row-level security lets the user reach their own row and the org service context
// the rows of its org.
import type { Tx } from '../db/tenant.ts';

export type PreferenceMap = Record<string, string>;

export interface PreferenceRow {
  preferences: PreferenceMap;
  updated_at: Date;
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
