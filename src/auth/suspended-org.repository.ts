// The suspended orgs, read by every instance's poll (src/auth/suspended-orgs.ts). The caller owns
// the transaction (the system path: the set spans every org).
import type { Tx } from '../db/tenant.ts';

export async function suspendedOrgIds(tx: Tx): Promise<string[]> {
  const rows = await tx
    .selectFrom('orgs')
    .select('id')
    .where('suspended_at', 'is not', null)
    .execute();
  return rows.map((r) => r.id);
}
