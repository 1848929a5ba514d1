// Call log use cases: read-only to people. Members read the calls of their own phones and agents;
// owners, admins and managers the whole org's (row-level security enforces the same).
import { requirePermission, seesWholeOrg } from '../../access/permissions.ts';
import { type Principal, tenantOf } from '../../access/principal.ts';
import type { Database } from '../../db/database.ts';
import type { Stated } from '../../db/log-page.ts';
import type { Call } from '../../db/schema.ts';
import { withTenantRead } from '../../db/tenant.ts';
import { notFound } from '../../http/errors.ts';
import { checkWindow, decodeCursor, page } from '../../http/pagination.ts';
import * as repo from './call.repository.ts';

/** GET /api/calls's filters, each named (src/db/log-page.ts Stated), the cursor still opaque. */
export type CallQuery = Stated<Omit<repo.CallFilters, 'before'> & { cursor?: string }>;

function scopeOf(p: Principal): repo.CallScope {
  return { orgId: p.orgId, ownerId: seesWholeOrg(p) ? undefined : p.userId };
}

export function createCallService(database: Database) {
  return {
    list(p: Principal, q: CallQuery) {
      requirePermission(p, 'calls:read');
      const before = decodeCursor(q.cursor);
      checkWindow(q.since, q.until);
      return withTenantRead(database, tenantOf(p), async (tx) =>
        page(
          await repo.listCalls(tx, scopeOf(p), {
            limit: q.limit + 1,
            before,
            since: q.since,
            until: q.until,
            status: q.status,
            direction: q.direction,
            phoneId: q.phoneId,
            agentId: q.agentId,
            number: q.number,
          }),
          q.limit,
        ),
      );
    },

    live(p: Principal, q: { limit: number; cursor?: string }) {
      requirePermission(p, 'calls:read');
      const before = decodeCursor(q.cursor);
      return withTenantRead(database, tenantOf(p), async (tx) =>
        page(await repo.listLiveCalls(tx, scopeOf(p), { before, limit: q.limit + 1 }), q.limit),
      );
    },

    async get(p: Principal, callSid: string): Promise<Call> {
      requirePermission(p, 'calls:read');
      const row = await withTenantRead(database, tenantOf(p), (tx) =>
        repo.findCallBySid(tx, scopeOf(p), callSid),
      );
      if (!row) throw notFound('call');
      return row;
    },
  };
}

export type CallService = ReturnType<typeof createCallService>;
