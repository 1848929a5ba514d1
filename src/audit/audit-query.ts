// Reading the org's audit trail (recording it is audit.ts): its owners and admins only, and only
// their own org's entries — the policies hold the same, this keeps the query honest. The
// platform's trail — acts in no org: password resets and mailbox proofs, email verification,
// failed logins before any org is known, signing-key rotations — is the superuser's alone.
import { requirePermission, requireSuperuser } from '../access/permissions.ts';
import { type Principal, tenantOf } from '../access/principal.ts';
import type { Database } from '../db/database.ts';
import { type TenantContext, withTenant } from '../db/tenant.ts';
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
export function listAuditLogs(database: Database, p: Principal, q: AuditQuery) {
  requirePermission(p, 'audit:read');
  return listTrail(database, tenantOf(p), p.orgId, q);
}

/** The platform's trail (entries of no org), newest first: the superuser's own login only. */
export function listPlatformAuditLogs(database: Database, p: Principal, q: AuditQuery) {
  requireSuperuser(p);
  // Entries of no org are outside every tenant: read as the platform's administrator.
  return listTrail(database, tenantOf(p, { platformAdmin: true }), null, q);
}

async function listTrail(
  database: Database,
  ctx: TenantContext,
  orgId: string | null,
  q: AuditQuery,
) {
  checkWindow(q.from, q.to, ['from', 'to']);
  const before = decodeCursor(q.cursor);
  const rows = await withTenant(database, ctx, (tx) =>
    listAudit(tx, orgId, {
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
