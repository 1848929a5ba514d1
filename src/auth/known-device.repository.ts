// Devices (user agent + IP fingerprints) a user has signed in from. The caller owns the
// transaction.
import { sql } from 'kysely';
import type { Tx } from '../db/tenant.ts';

/**
 * Records the device in ONE statement: a known one has its last_seen_at moved, an unknown one is
 * inserted. `added` is true for exactly one of any concurrent first sightings (the insert's
 * conflict clause); `hasOther` says whether the user had another device before this statement
 * (its snapshot does not see the row it inserts).
 */
export async function rememberDevice(
  tx: Tx,
  userId: string,
  fingerprint: string,
): Promise<{ added: boolean; hasOther: boolean }> {
  const { rows } = await sql<{ added: boolean; has_other: boolean }>`
    with seen as (
      update known_devices set last_seen_at = now()
      where user_id = ${userId} and fingerprint = ${fingerprint}
      returning 1
    ), added as (
      insert into known_devices (user_id, fingerprint)
      select ${userId}, ${fingerprint} where not exists (select 1 from seen)
      on conflict (user_id, fingerprint) do nothing
      returning 1
    )
    select exists (select 1 from added) as added,
      exists (
        select 1 from known_devices where user_id = ${userId} and fingerprint <> ${fingerprint}
      ) as has_other`.execute(tx);
  const row = rows[0]!;
  return { added: row.added, hasOther: row.has_other };
}
