// Whose webhook is this? The only place telephony crosses tenants (withSystem): no tenant is known
// until the request names a number, call or scheduled call. The answer is only used to pick the
// auth token that must have signed the request; everything the webhook then writes happens in
// that org's own tenant context (withOrgService).
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { Database } from '../db/database.ts';
import { withSystem } from '../db/tenant.ts';
import { accountFor, type TwilioAccount } from './twilio-account.ts';
import { findOwner, type OwnerKey } from './webhook-owner.repository.ts';

export type { OwnerKey } from './webhook-owner.repository.ts';

export interface WebhookOwner {
  /** null: no org routes this number (the platform account may still have signed it). */
  orgId: string | null;
  /** The org is suspended (the kill switch): answer "not in service", store nothing. */
  suspended: boolean;
  /** The account whose token must have signed the request; null: none configured. */
  account: TwilioAccount | null;
}

export async function findWebhookOwner(
  deps: { database: Database; config: Pick<Config, 'encryption' | 'twilio'>; logger: Logger },
  key: OwnerKey,
): Promise<WebhookOwner> {
  // Reviewed system-path use: a read of one org id and its sealed token, see the repository.
  const row = await withSystem(deps.database, (tx) => findOwner(tx, key));
  try {
    return {
      orgId: row.org_id,
      suspended: row.suspended,
      account: accountFor(deps.config, row.org_id, row),
    };
  } catch {
    // A sealed token that no longer opens (tampered, or its key was removed): refuse, loudly.
    deps.logger.error({ org_id: row.org_id }, 'twilio credentials of the org cannot be opened');
    return { orgId: row.org_id, suspended: row.suspended, account: null };
  }
}
