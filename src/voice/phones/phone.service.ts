// Phone number use cases. Any org may register any number, but a number routes calls and
// messages, and places calls, only once its ownership is proven (migration 0007): found on the
// org's own Twilio account (verify), or, on the shared platform account, assigned to the org by the
// platform superuser (assign). Until then it is `pending_verification` and inert. At most one org
// holds a number verified: the database's cross-tenant unique index decides, and a loser is told
// the same as for a number that is not on its account, so no answer reveals another org's numbers.
// Changes to routing are audited.

import { findOrgForShare } from '../../access/membership.repository.ts';
import { type OwnedListQuery, ownedResource } from '../../access/owned-resource.ts';
import { requireSuperuser } from '../../access/permissions.ts';
import { type Principal, tenantOf } from '../../access/principal.ts';
import { type Act, recordAct, recordAudit } from '../../audit/audit.ts';
import type { Config } from '../../config.ts';
import type { Database } from '../../db/database.ts';
import { violatedUniqueIndex } from '../../db/errors.ts';
import type { Phone } from '../../db/schema.ts';
import { type Tx, withTenant } from '../../db/tenant.ts';
import { AppError, notFound } from '../../http/errors.ts';
import type { RequestMeta } from '../../http/request-meta.ts';
import { numberIsOnAccount } from '../../telephony/number-ownership.ts';
import * as verification from '../../telephony/number-verification.repository.ts';
import { withOrgService } from '../../telephony/org-service.ts';
import { accountFor, type TwilioAccount } from '../../telephony/twilio-account.ts';
import { createTwilioClients, type TwilioClientFor } from '../../telephony/twilio-client.ts';
import {
  findCredentials,
  findSealedCredentials,
  lockTwilioAccount,
} from '../../telephony/twilio-credentials.repository.ts';
import { mapConflicts } from '../shared.ts';
import * as repo from './phone.repository.ts';

const CONFLICTS = { phones_org_number_key: 'phone_number_exists' } as const;
const VERIFIED_ONCE = 'phones_number_verified_once';

export interface PhoneInput {
  number: string;
  label?: string | null;
  active?: boolean;
}

export function createPhoneService(
  database: Database,
  config: Pick<Config, 'encryption' | 'twilio'>,
  clientFor: TwilioClientFor = createTwilioClients(config),
) {
  const phones = ownedResource(database, {
    resource: 'phones',
    noun: 'phone',
    find: repo.findPhone,
  });
  return {
    create(p: Principal, input: PhoneInput, meta: RequestMeta): Promise<Phone> {
      return mapConflicts(
        () =>
          phones.create(p, async (tx, owned) => {
            const row = await repo.insertPhone(tx, {
              ...owned,
              number: input.number,
              label: input.label ?? null,
              active: input.active ?? true,
            });
            await recordPhoneAct(tx, meta, p, 'phone.create', row, { active: row.active });
            return row;
          }),
        CONFLICTS,
      );
    },

    list(p: Principal, q: OwnedListQuery & { active?: boolean; q?: string }) {
      return phones.list(p, q, (tx, scope) =>
        repo.listPhones(tx, p.orgId, { ...scope, active: q.active, q: q.q }),
      );
    },

    get: phones.get,

    update(p: Principal, id: string, patch: repo.PhonePatch, meta: RequestMeta): Promise<Phone> {
      return mapConflicts(
        () =>
          phones.update(p, id, patch, async (tx, row) => {
            const updated = phones.found(await repo.updatePhone(tx, p.orgId, id, patch));
            if (patch.active !== undefined && patch.active !== row.active) {
              const action = updated.active ? 'phone.activate' : 'phone.deactivate';
              await recordPhoneAct(tx, meta, p, action, updated);
            }
            return updated;
          }),
        CONFLICTS,
      );
    },

    /**
     * Re-check ownership on the org's own Twilio account. Found: verified. Not found, or held
     * verified by another org (same account): one answer, phone_not_on_account, and a number that
     * was verified on the account and left it becomes pending again. On the platform account the
     * superuser assigns numbers: phone_assignment_required until then.
     */
    async verify(p: Principal, id: string, meta: RequestMeta): Promise<Phone> {
      const phone = await phones.manage(p, id, async (_tx, row) => row);
      // People below admin may not read the credentials; the org acting as itself may read its
      // own (migration 0007), and the token is only opened here, in memory.
      const stored = await withOrgService(database, p.orgId, (tx) =>
        findSealedCredentials(tx, p.orgId),
      );
      if (!stored) {
        if (phone.verification_status === 'verified') return phone;
        throw new AppError(
          config.twilio.accountSid ? 'phone_assignment_required' : 'twilio_not_configured',
        );
      }
      let account: TwilioAccount | null;
      try {
        account = accountFor(config, p.orgId, stored);
      } catch {
        throw new AppError(
          'twilio_credentials_rejected',
          'The stored Twilio credentials cannot be opened: set them again',
        );
      }
      if (!account) throw new AppError('twilio_not_configured');

      if (await numberIsOnAccount(await clientFor(account), phone.number)) {
        try {
          return await withTenant(database, tenantOf(p), async (tx) => {
            // The check ran on stored.account_sid; the org's account may have changed since
            // (which resets verified numbers, not this one while still pending).
            if ((await lockTwilioAccount(tx)) !== stored.account_sid) {
              throw new AppError('twilio_account_changed');
            }
            const row = phones.found(
              await verification.markVerified(tx, p.orgId, id, 'twilio_account'),
            );
            await recordPhoneAct(tx, meta, p, 'phone.verify', row, { method: 'twilio_account' });
            return row;
          });
        } catch (err) {
          // Held verified by another org: answered like a number not on the account.
          if (violatedUniqueIndex(err) !== VERIFIED_ONCE) throw err;
        }
      } else if (phone.verification_status === 'verified') {
        await withTenant(database, tenantOf(p), async (tx) => {
          await verification.markPending(tx, p.orgId, id);
          await recordPhoneAct(tx, meta, p, 'phone.verification_lost', phone);
        });
      }
      throw new AppError('phone_not_on_account');
    },

    remove(p: Principal, id: string, meta: RequestMeta): Promise<void> {
      return phones.manage(p, id, async (tx, row) => {
        await repo.softDeletePhone(tx, p.orgId, id);
        await recordPhoneAct(tx, meta, p, 'phone.delete', row);
      });
    },
  };
}

/** The superuser's assignment of a number on the platform account to one org. */
export function createPhoneAssignment(database: Database) {
  return function assign(
    p: Principal,
    input: { org_id: string; number: string },
    meta: RequestMeta,
  ): Promise<Phone> {
    requireSuperuser(p);
    const { org_id: orgId, number } = input;
    return mapConflicts(
      () =>
        withTenant(database, tenantOf(p, { platformAdmin: true }), async (tx) => {
          // An org with its own account proves ownership there; the platform cannot vouch for it.
          // The org row share-locked first: a switch to its own account (which locks it, then
          // resets verified numbers) either committed before and is seen here, or waits for
          // this assignment and resets it.
          if (!(await findOrgForShare(tx, orgId))) throw notFound('phone');
          if (await findCredentials(tx, orgId)) throw new AppError('phone_verified_by_account');
          const phone = await verification.phoneByNumber(tx, orgId, number, 'any');
          if (!phone) throw notFound('phone');
          if (phone.verification_status === 'verified') return phone;
          const actor = { actor_user_id: p.userId, actor_type: 'superuser' as const };
          for (const taken of await verification.unverifyNumberElsewhere(tx, number, orgId)) {
            await recordAudit(tx, meta, {
              org_id: taken.org_id,
              ...actor,
              action: 'phone.unassign',
              target_type: 'phone',
              target_id: taken.id,
              outcome: 'success',
              metadata: { number },
            });
          }
          const row = await verification.markVerified(tx, orgId, phone.id, 'platform_assignment');
          if (!row) throw notFound('phone');
          await recordAudit(tx, meta, {
            org_id: orgId,
            ...actor,
            action: 'phone.assign',
            target_type: 'phone',
            target_id: row.id,
            outcome: 'success',
            metadata: { number },
          });
          return row;
        }),
      // Two assignments of one number racing: the loser is told to try again.
      { [VERIFIED_ONCE]: 'conflict' },
    );
  };
}

export type PhoneService = ReturnType<typeof createPhoneService>;

/** An act on a phone number, recorded with the number (the audit's reader may not see the row). */
function recordPhoneAct(
  tx: Tx,
  meta: RequestMeta,
  p: Principal,
  action: string,
  phone: Pick<Phone, 'id' | 'number'>,
  metadata: Act['metadata'] = {},
): Promise<void> {
  return recordAct(tx, meta, p, {
    action,
    target_type: 'phone',
    target_id: phone.id,
    metadata: { number: phone.number, ...metadata },
  });
}
