// Reading the org's audit trail: its owners and admins only, newest first, filtered. Only the
// caller's own org is read (its tenant context and an explicit org filter).
import { requirePermission } from '../access/permissions.ts';
import { type Principal, tenantOf } from '../access/principal.ts';
import type { Database } from '../db/database.ts';
import { withTenant } from '../db/tenant.ts';
import { decodeCursor, page } from '../http/pagination.ts';
import { listAudit } from './audit.repository.ts';

export interface AuditLogQuery {
  limit?: number;
  cursor?: string;
  action?: string;
  actor?: string;
  outcome?: 'success' | 'failure';
  from?: string;
  to?: string;
}

export async function listAuditLog(database: Database, p: Principal, q: AuditLogQuery) {
  requirePermission(p, 'audit:read');
  const limit = q.limit ?? 20;
  const rows = await withTenant(database, tenantOf(p), (tx) =>
    listAudit(tx, p.orgId, {
      limit: limit + 1,
      before: decodeCursor(q.cursor),
      action: q.action,
      actorUserId: q.actor,
      outcome: q.outcome,
      from: q.from ? new Date(q.from) : undefined,
      to: q.to ? new Date(q.to) : undefined,
    }),
  );
  return page(rows, limit);
}
