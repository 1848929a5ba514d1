// The org acting as itself: Twilio webhooks and the dispatcher, once they know which org a
// request or a queued call belongs to, do their work in that org's tenant context with no user
// and no role. Row-level security then confines them to that org (app_org_service() in the
// policies): they may write call and message logs there and read its phones and agents, nothing
// in any other org.
import type { Database } from '../db/database.ts';
import { type Tx, withTenant } from '../db/tenant.ts';

export function withOrgService<T>(
  database: Database,
  orgId: string,
  fn: (tx: Tx) => Promise<T>,
): Promise<T> {
  return withTenant(database, { orgId, userId: null, role: null }, fn);
}
