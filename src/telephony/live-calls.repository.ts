// The kill switch's view of an org's telephony (src/suspension/): its calls still going on, and
// the sealed credentials of the account that carries them. The caller owns the transaction.
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

export function sealedCredentialsOfOrg(tx: Tx, orgId: string) {
  return tx
    .selectFrom('org_twilio_credentials')
    .select(['account_sid', 'auth_token_enc'])
    .where('org_id', '=', orgId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
}
