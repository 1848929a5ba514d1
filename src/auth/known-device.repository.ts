// Devices (user agent + IP fingerprints) a user has signed in from. The caller owns the
// transaction.
import { sql } from 'kysely';
import type { Tx } from '../db/tenant.ts';

/** Records the device; true when it was not known before. */
export async function rememberDevice(
  tx: Tx,
  userId: string,
  fingerprint: string,
): Promise<boolean> {
  const inserted = await tx
    .insertInto('known_devices')
    .values({ user_id: userId, fingerprint })
    .onConflict((oc) => oc.columns(['user_id', 'fingerprint']).doNothing())
    .returning('fingerprint')
    .executeTakeFirst();
  if (inserted) return true;
  await tx
    .updateTable('known_devices')
    .set({ last_seen_at: sql<Date>`now()` })
    .where('user_id', '=', userId)
    .where('fingerprint', '=', fingerprint)
    .execute();
  return false;
}

export async function hasOtherDevice(
  tx: Tx,
  userId: string,
  fingerprint: string,
): Promise<boolean> {
  const row = await tx
    .selectFrom('known_devices')
    .select('fingerprint')
    .where('user_id', '=', userId)
    .where('fingerprint', '!=', fingerprint)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}
