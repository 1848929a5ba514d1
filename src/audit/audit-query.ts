// Reading the org's audit trail (recording it is audit.ts): its owners and admins only, and only
// their own org's entries — the policies hold the same, this keeps the query honest.
import { requirePermission } from '../access/permissions.ts';
import { type Principal, tenantOf } from '../access/principal.ts';
import type { Database } from '../db/database.ts';
import { withTenant } from '../db/tenant.ts';
import { AppError } from '../http/errors.ts';
import { checkWindow, decodeCursor, page } from '../http/pagination.ts';
import { listAudit } from './audit.repository.ts';

export interface AuditQuery {
  limit: number;
  cursor?: string;
  /** Exact, or a prefix like `auth.*`. */
  action?: string;
  actor?: string;
  outcome?: 'success' | 'failure';
  /** ISO times; `from` inclusive, `to` exclusive. */
  from?: string;
  to?: string;
}

/** Newest first, `q.limit` entries a page. */
export async function listAuditLogs(database: Database, p: Principal, q: AuditQuery) {
  requirePermission(p, 'audit:read');
  checkWindow(q.from, q.to, ['from', 'to']);
  const before = decodeCursor(q.cursor);
  const rows = await withTenant(database, tenantOf(p), (tx) =>
    listAudit(tx, p.orgId, {
      limit: q.limit + 1,
      before,
      action: q.action,
      actorUserId: q.actor,
      outcome: q.outcome,
      from: q.from ? new Date(q.from) : undefined,
      to: q.to ? new Date(q.to) : undefined,
    }),
  );
  return page(rows, q.limit);
}
