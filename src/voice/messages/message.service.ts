// Message log use cases: read-only to people. Members read the messages of their own phones and
// messaging agents; owners, admins and managers the whole org's (row-level security too).
import { requirePermission, seesWholeOrg } from '../../access/permissions.ts';
import { type Principal, tenantOf } from '../../access/principal.ts';
import type { Database } from '../../db/database.ts';
import type { Stated } from '../../db/log-page.ts';
import { withTenant } from '../../db/tenant.ts';
import { checkWindow, decodeCursor, page } from '../../http/pagination.ts';
import * as repo from './message.repository.ts';

function scopeOf(p: Principal): repo.MessageScope {
  return { orgId: p.orgId, ownerId: seesWholeOrg(p) ? undefined : p.userId };
}

/** GET /api/messages's filters, each named (src/db/log-page.ts Stated), the cursor still opaque. */
export type MessageQuery = Stated<Omit<repo.MessageFilters, 'before'> & { cursor?: string }>;

export function createMessageService(database: Database) {
  return {
    list(p: Principal, q: MessageQuery) {
      requirePermission(p, 'messages:read');
      const before = decodeCursor(q.cursor);
      checkWindow(q.since, q.until);
      return withTenant(database, tenantOf(p), async (tx) =>
        page(
          await repo.listMessages(tx, scopeOf(p), {
            limit: q.limit + 1,
            before,
            since: q.since,
            until: q.until,
            phoneId: q.phoneId,
            phoneless: q.phoneless,
            direction: q.direction,
            counterpart: q.counterpart,
          }),
          q.limit,
        ),
      );
    },

    conversations(p: Principal, q: { limit: number; cursor?: string; phoneId?: string }) {
      requirePermission(p, 'messages:read');
      const before = decodeCursor(q.cursor);
      return withTenant(database, tenantOf(p), async (tx) =>
        page(
          await repo.listConversations(tx, scopeOf(p), {
            limit: q.limit + 1,
            before,
            phoneId: q.phoneId,
          }),
          q.limit,
        ),
      );
    },
  };
}

export type MessageService = ReturnType<typeof createMessageService>;
