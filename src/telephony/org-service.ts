// The org acting as itself: Twilio webhooks and the dispatcher, once they know which org a
// request or a queued call belongs to, do their work in that org's tenant context with no user
// and no role. Row-level security then confines them to that org (app_org_service() in the
// policies): they may write call and message logs there and read its phones and agents, nothing
// in any other org.
import { findOrgForShare } from '../access/membership.repository.ts';
import type { Database } from '../db/database.ts';
import { type Tx, withTenant } from '../db/tenant.ts';

export function withOrgService<T>(
  database: Database,
  orgId: string,
  fn: (tx: Tx) => Promise<T>,
): Promise<T> {
  return withTenant(database, { orgId, userId: null, role: null }, fn);
}

/**
 * Whether the org is in service (not suspended), read under a share lock on its row held until
 * the transaction ends. The kill switch suspends under the row's exclusive lock and then sweeps
 * the org's live calls: a webhook or dispatch that writes after asking here either sees the
 * suspension, or commits before the sweep looks (and is swept). A flag read earlier without the
 * lock (the webhook's owner lookup) can be stale by the time the call is written.
 */
export async function orgInService(tx: Tx, orgId: string): Promise<boolean> {
  return (await findOrgForShare(tx, orgId))?.suspended_at == null;
}
