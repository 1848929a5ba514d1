// The kill switch's view of an org's telephony (src/suspension/): its calls still going on (the
// account that carries them: findSealedCredentials). The caller owns the transaction.
import type { Tx } from '../db/tenant.ts';

/** Statuses of a call that Twilio may still be carrying. */
export const LIVE_CALL_STATUSES = ['queued', 'initiated', 'ringing', 'in-progress'] as const;

export async function liveCallSidsOfOrg(tx: Tx, orgId: string): Promise<string[]> {
  const rows = await tx
    .selectFrom('calls')
    .select('call_sid')
    .where('org_id', '=', orgId)
    .where('status', 'in', [...LIVE_CALL_STATUSES])
    .execute();
  return rows.map((r) => r.call_sid);
}
