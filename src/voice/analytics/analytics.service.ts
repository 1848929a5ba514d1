// Analytics use cases: computed in SQL, only over the calls the caller may see (members: those of
// their own phones and agents; owners, admins and managers: the whole org).
import { requirePermission, seesWholeOrg } from '../../access/permissions.ts';
import { type Principal, tenantOf } from '../../access/principal.ts';
import type { Database } from '../../db/database.ts';
import { withTenant } from '../../db/tenant.ts';
import { AppError } from '../../http/errors.ts';
import * as repo from './analytics.repository.ts';
import { resolveRange } from './time-range.ts';

export interface AnalyticsQuery {
  from?: string;
  to?: string;
  tz?: string;
  agent_id?: string;
}

/** PostgreSQL's own time-zone list may lack a name the runtime knows: still a 400. */
function isUnknownTimeZone(err: unknown): boolean {
  return (
    !!err &&
    typeof err === 'object' &&
    (err as { code?: unknown }).code === '22023' &&
    /time zone/i.test(String((err as { message?: unknown }).message))
  );
}

export function createAnalyticsService(database: Database) {
  async function run<T>(
    p: Principal,
    q: AnalyticsQuery,
    fn: (
      tx: Parameters<typeof repo.callsByDate>[0],
      s: repo.AnalyticsScope,
      r: ReturnType<typeof resolveRange>,
    ) => Promise<T>,
  ) {
    requirePermission(p, 'analytics:read');
    const range = resolveRange(q);
    const scope = {
      orgId: p.orgId,
      ownerId: seesWholeOrg(p) ? undefined : p.userId,
      agentId: q.agent_id,
    };
    try {
      const result = await withTenant(database, tenantOf(p), (tx) => fn(tx, scope, range));
      return { ...range, result };
    } catch (err) {
      if (isUnknownTimeZone(err)) {
        throw new AppError('validation_failed', 'The tz parameter is not valid', {
          errors: [{ field: 'tz', message: 'is not a known IANA time zone' }],
        });
      }
      throw err;
    }
  }

  return {
    /** Every day of the range, and the range's totals (one transaction: the same calls). */
    callsByDate: (p: Principal, q: AnalyticsQuery) =>
      run(p, q, async (tx, s, r) => ({
        days: await repo.callsByDate(tx, s, r),
        totals: await repo.callTotals(tx, s, r),
      })),
    callsByHour: (p: Principal, q: AnalyticsQuery) => run(p, q, repo.callsByHour),
    agentSummary: (p: Principal, q: AnalyticsQuery) => run(p, q, repo.agentSummary),
  };
}

export type AnalyticsService = ReturnType<typeof createAnalyticsService>;
