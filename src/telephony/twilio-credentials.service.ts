// An org's own Twilio account: owners and admins set or remove it (audited, never an API key);
// the auth token is sealed at once and never returned. Without one, the org uses the platform
// account (TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN).
import { requirePermission } from '../access/permissions.ts';
import { type Principal, tenantOf } from '../access/principal.ts';
import { recordAct } from '../audit/audit.ts';
import type { Config } from '../config.ts';
import type { Database } from '../db/database.ts';
import { type Tx, withTenant } from '../db/tenant.ts';
import { notFound } from '../http/errors.ts';
import type { RequestMeta } from '../http/request-meta.ts';
import { sealAuthToken } from './auth-token.ts';
import { resetVerifications } from './number-verification.repository.ts';
import * as repo from './twilio-credentials.repository.ts';

export interface CredentialsView {
  source: 'org' | 'platform' | 'none';
  account_sid: string | null;
  updated_at: string | null;
}

/**
 * A number is verified on the account that serves the org. When that account changes (set to
 * another account, or removed: back to the platform's), every verified number of the org goes
 * back to pending_verification in the same transaction, each one audited.
 */
async function unverifyAll(tx: Tx, p: Principal, meta: RequestMeta): Promise<void> {
  for (const phone of await resetVerifications(tx, p.orgId)) {
    await recordAct(tx, meta, p, {
      action: 'phone.verification_lost',
      target_type: 'phone',
      target_id: phone.id,
      metadata: { number: phone.number, reason: 'twilio_account_changed' },
    });
  }
}

export function createTwilioCredentialsService(
  database: Database,
  config: Pick<Config, 'encryption' | 'twilio'>,
) {
  const platform = (): CredentialsView => ({
    source: config.twilio.accountSid ? 'platform' : 'none',
    // The platform account is not the org's business.
    account_sid: null,
    updated_at: null,
  });

  return {
    async get(p: Principal): Promise<CredentialsView> {
      requirePermission(p, 'org:manage');
      const row = await withTenant(database, tenantOf(p), (tx) =>
        repo.findCredentials(tx, p.orgId),
      );
      return row
        ? { source: 'org', account_sid: row.account_sid, updated_at: row.updated_at.toISOString() }
        : platform();
    },

    set(
      p: Principal,
      input: { account_sid: string; auth_token: string },
      meta: RequestMeta,
    ): Promise<CredentialsView> {
      requirePermission(p, 'org:manage');
      const sealed = sealAuthToken(config, p.orgId, input.account_sid, input.auth_token);
      return withTenant(database, tenantOf(p), async (tx) => {
        await repo.lockOrgForAccountChange(tx, p.orgId);
        const before = await repo.findCredentials(tx, p.orgId);
        const row = await repo.upsertCredentials(tx, {
          org_id: p.orgId,
          account_sid: input.account_sid,
          auth_token_enc: sealed,
          updated_by: p.userId,
        });
        await recordAct(tx, meta, p, {
          action: 'twilio_credentials.set',
          target_type: 'org',
          target_id: p.orgId,
          metadata: { account_sid: input.account_sid },
        });
        // Another account serves the org now: what the old one proved proves nothing here.
        if (before?.account_sid !== input.account_sid) await unverifyAll(tx, p, meta);
        return {
          source: 'org' as const,
          account_sid: row.account_sid,
          updated_at: row.updated_at.toISOString(),
        };
      });
    },

    remove(p: Principal, meta: RequestMeta): Promise<void> {
      requirePermission(p, 'org:manage');
      return withTenant(database, tenantOf(p), async (tx) => {
        await repo.lockOrgForAccountChange(tx, p.orgId);
        if (!(await repo.removeCredentials(tx, p.orgId, p.userId))) {
          throw notFound('Twilio credentials');
        }
        await unverifyAll(tx, p, meta);
        await recordAct(tx, meta, p, {
          action: 'twilio_credentials.remove',
          target_type: 'org',
          target_id: p.orgId,
        });
      });
    },
  };
}

export type TwilioCredentialsService = ReturnType<typeof createTwilioCredentialsService>;
