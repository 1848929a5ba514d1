// Phone number use cases. A number routes inbound calls and messages to one org at a time: the
// database's unique index decides (it sees across tenants), this code names the outcome. Changes
// to routing are audited.
import { auditActor } from '../../access/actor.ts';
import {
  canManageRow,
  canSeeRow,
  requirePermission,
  seesAllRows,
} from '../../access/permissions.ts';
import { type Principal, tenantOf } from '../../access/principal.ts';
import { recordAudit } from '../../audit/audit.ts';
import type { RequestMeta } from '../../auth/auth-context.ts';
import type { Database } from '../../db/database.ts';
import type { Phone } from '../../db/schema.ts';
import { withTenant } from '../../db/tenant.ts';
import { AppError, notFound } from '../../http/errors.ts';
import { newId } from '../../http/ids.ts';
import { decodeCursor, page } from '../../http/pagination.ts';
import { mapConflicts } from '../shared.ts';
import * as repo from './phone.repository.ts';

const CONFLICTS = {
  phones_number_routes_once: 'number_in_use',
  phones_org_number_key: 'phone_number_exists',
} as const;

export interface PhoneInput {
  number: string;
  label?: string | null;
  active?: boolean;
}

export function createPhoneService(database: Database) {
  return {
    create(p: Principal, input: PhoneInput, meta: RequestMeta): Promise<Phone> {
      requirePermission(p, 'phones:create');
      return mapConflicts(
        () =>
          withTenant(database, tenantOf(p), async (tx) => {
            const row = await repo.insertPhone(tx, {
              id: newId(),
              org_id: p.orgId,
              owner_id: p.userId,
              number: input.number,
              label: input.label ?? null,
              active: input.active ?? true,
            });
            await recordAudit(tx, meta, {
              org_id: p.orgId,
              ...auditActor(p),
              action: 'phone.create',
              target_type: 'phone',
              target_id: row.id,
              outcome: 'success',
              metadata: { number: row.number, active: row.active },
            });
            return row;
          }),
        CONFLICTS,
      );
    },

    list(
      p: Principal,
      q: { limit: number; cursor?: string; owner_id?: string; active?: boolean; q?: string },
    ) {
      requirePermission(p, 'phones:read');
      const before = decodeCursor(q.cursor);
      return withTenant(database, tenantOf(p), async (tx) => {
        const rows = await repo.listPhones(tx, p.orgId, {
          limit: q.limit + 1,
          before,
          // Reads follow the role, as RLS does (members: their own rows; this keeps the query honest).
          ownerId: seesAllRows(p, 'phones') ? q.owner_id : p.userId,
          active: q.active,
          q: q.q,
        });
        return page(rows, q.limit);
      });
    },

    async get(p: Principal, id: string): Promise<Phone> {
      requirePermission(p, 'phones:read');
      const row = await withTenant(database, tenantOf(p), (tx) => repo.findPhone(tx, p.orgId, id));
      // Another member's row answers exactly like a missing one: no existence oracle.
      if (!row || !canSeeRow(p, 'phones', row.owner_id)) throw notFound('phone');
      return row;
    },

    update(p: Principal, id: string, patch: repo.PhonePatch, meta: RequestMeta): Promise<Phone> {
      requirePermission(p, 'phones:manage_own');
      if (Object.keys(patch).length === 0) {
        throw new AppError('validation_failed', 'Nothing to update');
      }
      return mapConflicts(
        () =>
          withTenant(database, tenantOf(p), async (tx) => {
            const row = await repo.findPhone(tx, p.orgId, id);
            if (!row || !canManageRow(p, 'phones', row.owner_id)) throw notFound('phone');
            const updated = await repo.updatePhone(tx, p.orgId, id, patch);
            if (!updated) throw notFound('phone');
            if (patch.active !== undefined && patch.active !== row.active) {
              await recordAudit(tx, meta, {
                org_id: p.orgId,
                ...auditActor(p),
                action: updated.active ? 'phone.activate' : 'phone.deactivate',
                target_type: 'phone',
                target_id: id,
                outcome: 'success',
                metadata: { number: updated.number },
              });
            }
            return updated;
          }),
        CONFLICTS,
      );
    },

    remove(p: Principal, id: string, meta: RequestMeta): Promise<void> {
      requirePermission(p, 'phones:manage_own');
      return withTenant(database, tenantOf(p), async (tx) => {
        const row = await repo.findPhone(tx, p.orgId, id);
        if (!row || !canManageRow(p, 'phones', row.owner_id)) throw notFound('phone');
        await repo.softDeletePhone(tx, p.orgId, id);
        await recordAudit(tx, meta, {
          org_id: p.orgId,
          ...auditActor(p),
          action: 'phone.delete',
          target_type: 'phone',
          target_id: id,
          outcome: 'success',
          metadata: { number: row.number },
        });
      });
    },
  };
}

export type PhoneService = ReturnType<typeof createPhoneService>;
