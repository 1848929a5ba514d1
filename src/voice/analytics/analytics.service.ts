// Analytics use cases: computed in SQL, only over the calls the caller may see (members: those of
// their own phones and agents; owners, admins and managers: the whole org) and the voice sessions
// (LiveKit) the caller may see (members: their own).
import { requirePermission, seesWholeOrg } from '../../access/permissions.ts';
import { type Principal, tenantOf } from '../../access/principal.ts';
import type { Database } from '../../db/database.ts';
import { type Tx, withTenant } from '../../db/tenant.ts';
import { AppError } from '../../http/errors.ts';
import * as repo from './analytics.repository.ts';
import { type DateRange, resolveRange } from './time-range.ts';

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

export interface VoiceSessionAnalyticsQuery {
  from?: string;
  to?: string;
  tz?: string;
  user_id?: string;
}

export function createAnalyticsService(database: Database) {
  /** The permission, the window, the caller's tenant context, and a 400 for an unknown tz. */
  async function inRange<T>(
    p: Principal,
    q: { from?: string; to?: string; tz?: string },
    fn: (tx: Tx, r: DateRange) => Promise<T>,
  ) {
    requirePermission(p, 'analytics:read');
    const range = resolveRange(q);
    try {
      const result = await withTenant(database, tenantOf(p), (tx) => fn(tx, range));
      const { zone: _sqlOnly, ...window } = range;
      return { ...window, result };
    } catch (err) {
      if (isUnknownTimeZone(err)) {
        throw new AppError('validation_failed', 'The tz parameter is not valid', {
          errors: [{ field: 'tz', message: 'is not a known IANA time zone' }],
        });
      }
      throw err;
    }
  }

  function run<T>(
    p: Principal,
    q: AnalyticsQuery,
    fn: (tx: Tx, s: repo.AnalyticsScope, r: DateRange) => Promise<T>,
  ) {
    const scope = {
      orgId: p.orgId,
      ownerId: seesWholeOrg(p) ? undefined : p.userId,
      agentId: q.agent_id,
    };
    return inRange(p, q, (tx, range) => fn(tx, scope, range));
  }

  /** Members count their own sessions (asking for someone else is a 403); managers and up any. */
  function voiceSessionScope(p: Principal, userId?: string): repo.VoiceSessionScope {
    if (seesWholeOrg(p)) return { orgId: p.orgId, userId };
    if (userId && userId !== p.userId)
      throw new AppError('forbidden', "Members see their own voice sessions' analytics only");
    return { orgId: p.orgId, userId: p.userId };
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
    /** Voice sessions (LiveKit) per day of the range and per user. */
    voiceSessions: (p: Principal, q: VoiceSessionAnalyticsQuery) => {
      const scope = voiceSessionScope(p, q.user_id);
      return inRange(p, q, async (tx, range) => ({
        days: await repo.voiceSessionsByDate(tx, scope, range),
        users: await repo.voiceSessionsByUser(tx, scope, range),
      }));
    },
  };
}

export type AnalyticsService = ReturnType<typeof createAnalyticsService>;
