// Per-org concurrency quotas, checked when a credential is issued (the TwiML of an incoming call,
// the dispatch of a scheduled call, a LiveKit room token, a device socket upgrade) and released
// on the end event (Twilio's status callback, LiveKit's webhook, the socket's close); lease
// expiry reclaims what an end event never released. Limits: the platform's (QUOTA_*), which an
// org's owners and admins may lower, never raise. An org's limits are cached per instance for
// LIMITS_CACHE_MS (a change is seen at once on the instance that made it, within that time on
// the others).
//
// The counter failing (Redis down, the database busy) never drops a call or a session: the
// credential is issued, unchecked, and a warning logged. A quota protects capacity; it is not
// an access control.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { requirePermission } from '../access/permissions.ts';
import { type Principal, tenantOf } from '../access/principal.ts';
import { recordAct } from '../audit/audit.ts';
import type { Config } from '../config.ts';
import type { Database } from '../db/database.ts';
import type { OrgQuotas, QuotaKind } from '../db/schema.ts';
import { withTenant, withTenantRead } from '../db/tenant.ts';
import { AppError } from '../http/errors.ts';
import type { RequestMeta } from '../http/request-meta.ts';
import {
  createDatabaseCounter,
  createRedisCounter,
  type LeaseCounter,
  QUOTA_KINDS,
} from './counter.ts';
import { embeddedCounterFor } from './embedded-counter.ts';
import * as repo from './quota.repository.ts';

export const LIMITS_CACHE_MS = 5000;

/** An org's limits, as set by the org (null: the platform's) or in effect. */
export interface QuotaLimits {
  max_live_calls: number;
  inbound_reserved_calls: number;
  max_voice_sessions: number;
  max_device_sockets: number;
  max_scheduled_calls_per_day: number;
}
export type QuotaField = keyof QuotaLimits;
export type QuotaSettings = { [K in QuotaField]: number | null };
export const QUOTA_FIELDS = [
  'max_live_calls',
  'inbound_reserved_calls',
  'max_voice_sessions',
  'max_device_sockets',
  'max_scheduled_calls_per_day',
] as const satisfies readonly QuotaField[];

export interface QuotasView {
  /** In effect: the org's own limit, or the platform's. */
  limits: QuotaLimits;
  /** The org's own settings; null = the platform's. */
  org: QuotaSettings;
  /** The platform's limits: the defaults and the bounds. */
  platform: QuotaLimits;
  updated_at: string | null;
}

export interface UsageItem {
  live: number;
  limit: number;
}
export interface UsageView {
  counter: 'redis' | 'database' | 'embedded';
  live_calls: UsageItem & { inbound_reserved: number };
  voice_sessions: UsageItem;
  device_sockets: UsageItem;
  scheduled_calls_per_day: UsageItem & { resets_at: string };
}

export type QuotaDecision =
  | { ok: true; live: number; limit: number }
  | { ok: false; live: number; limit: number };

export interface AcquireOptions {
  /** live_calls only: an incoming call may use the share reserved for inbound. */
  inbound?: boolean;
  /** When the lease runs out without a release (default QUOTA_LEASE_SECONDS from now). */
  expiresAt?: number;
}

export function platformLimits(config: Pick<Config, 'quotas'>): QuotaLimits {
  const q = config.quotas;
  return {
    max_live_calls: q.maxLiveCalls,
    inbound_reserved_calls: q.inboundReservedCalls,
    max_voice_sessions: q.maxVoiceSessions,
    max_device_sockets: q.maxDeviceSockets,
    max_scheduled_calls_per_day: q.maxScheduledCallsPerDay,
  };
}

function settingsOf(row: OrgQuotas | undefined): QuotaSettings {
  return Object.fromEntries(QUOTA_FIELDS.map((f) => [f, row?.[f] ?? null])) as QuotaSettings;
}

/**
 * The org's settings over the platform's; the reserved share never above the org's maximum.
 * The platform's value is a ceiling here too, not only when a setting is saved: an org's setting
 * saved under a higher platform value must not outlive the operator lowering it.
 */
export function effectiveLimits(platform: QuotaLimits, own: QuotaSettings): QuotaLimits {
  const limits = Object.fromEntries(
    QUOTA_FIELDS.map((f) => [f, Math.min(own[f] ?? platform[f], platform[f])]),
  ) as unknown as QuotaLimits;
  limits.inbound_reserved_calls = Math.min(limits.inbound_reserved_calls, limits.max_live_calls);
  return limits;
}

/** The limit an acquire of `kind` is judged against. */
export function limitFor(limits: QuotaLimits, kind: QuotaKind, inbound = false): number {
  switch (kind) {
    case 'live_calls':
      return inbound
        ? limits.max_live_calls
        : limits.max_live_calls - limits.inbound_reserved_calls;
    case 'voice_sessions':
      return limits.max_voice_sessions;
    case 'device_sockets':
      return limits.max_device_sockets;
    case 'scheduled_calls_per_day':
      return limits.max_scheduled_calls_per_day;
  }
}

/** The next 00:00 UTC after `now` (ms): when the scheduled-calls-per-day count starts again. */
export function nextUtcMidnight(now: number): number {
  const d = new Date(now);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
}

/**
 * Checks an org's requested settings against the platform's bounds, and the reserve (its own or
 * the platform's it inherits) against its maximum: field errors, or none.
 */
export function settingsProblems(
  platform: QuotaLimits,
  next: QuotaSettings,
): { field: string; message: string }[] {
  const problems: { field: string; message: string }[] = [];
  for (const f of QUOTA_FIELDS) {
    const v = next[f];
    if (v !== null && v > platform[f]) {
      problems.push({
        field: f,
        message: `must not exceed the platform's limit of ${platform[f]}`,
      });
    }
  }
  const max = next.max_live_calls ?? platform.max_live_calls;
  const reserved = next.inbound_reserved_calls;
  if (reserved !== null && reserved > max) {
    problems.push({
      field: 'inbound_reserved_calls',
      message: `must not exceed max_live_calls (${max})`,
    });
  }
  // The reserve in effect too: an inherited (null) reserve that reaches the org's own maximum
  // (clamped to it by effectiveLimits) leaves no slot for outbound dispatch, which nobody chose.
  // Set explicitly, a reserve equal to the maximum is allowed: no outbound calls, on purpose; so
  // is a maximum of 0 (no calls at all, whatever the reserve).
  if (
    reserved === null &&
    next.max_live_calls !== null &&
    next.max_live_calls > 0 &&
    platform.inbound_reserved_calls >= next.max_live_calls
  ) {
    problems.push({
      field: 'inbound_reserved_calls',
      message:
        `the platform's reserve of ${platform.inbound_reserved_calls} is inherited and leaves no ` +
        `outbound calls under max_live_calls (${next.max_live_calls}): set it to at most ` +
        `${next.max_live_calls}`,
    });
  }
  return problems;
}

/** The audit entry's flat metadata: each field's new value and, when it changed, the old one. */
function auditMetadata(before: QuotaSettings, after: QuotaSettings) {
  const m: Record<string, number | null> = {};
  for (const f of QUOTA_FIELDS) {
    m[f] = after[f];
    if (before[f] !== after[f]) m[`previous_${f}`] = before[f];
  }
  return m;
}

export interface QuotasDeps {
  database: Database;
  config: Pick<Config, 'quotas' | 'redisKeyPrefix'>;
  redis?: Redis;
  logger?: Logger;
  /** Test-only: the clock leases are judged by (ms). */
  now?: () => number;
  /** Test-only: a counter of one's choosing (default: Redis, else the embedded or database one). */
  counter?: LeaseCounter;
}

export function createQuotas(deps: QuotasDeps) {
  const { database, config, logger } = deps;
  const now = deps.now ?? Date.now;
  // Redis when there is one (shared by every instance); else on the embedded database, which one
  // process owns, the in-process counter; else the database's own.
  const counter =
    deps.counter ??
    (deps.redis
      ? createRedisCounter(deps.redis, config.redisKeyPrefix)
      : database.kind === 'pglite'
        ? embeddedCounterFor(database, (err) =>
            logger?.warn({ err }, 'quota lease not written to the database'),
          )
        : createDatabaseCounter(database));
  const platform = platformLimits(config);
  const cache = new Map<string, { at: number; row: OrgQuotas | undefined }>();
  const orgContext = (orgId: string) => ({ orgId, userId: null, role: null });

  async function ownRow(orgId: string): Promise<OrgQuotas | undefined> {
    const hit = cache.get(orgId);
    const t = Date.now();
    if (hit && t - hit.at < LIMITS_CACHE_MS) return hit.row;
    const row = await withTenantRead(database, orgContext(orgId), (tx) =>
      repo.findOrgQuotas(tx, orgId),
    );
    if (cache.size > 10_000) cache.clear();
    cache.set(orgId, { at: t, row });
    return row;
  }

  async function limitsOf(orgId: string): Promise<QuotaLimits> {
    return effectiveLimits(platform, settingsOf(await ownRow(orgId)));
  }

  function view(row: OrgQuotas | undefined): QuotasView {
    const org = settingsOf(row);
    return {
      limits: effectiveLimits(platform, org),
      org,
      platform,
      updated_at: row?.updated_at.toISOString() ?? null,
    };
  }

  return {
    counter: counter.name,
    now,
    leaseSeconds: config.quotas.leaseSeconds,
    socketLeaseSeconds: config.quotas.socketLeaseSeconds,
    dispatchRetrySeconds: config.quotas.dispatchRetrySeconds,

    /**
     * Take one slot of `kind` for `leaseId` (or renew it when already held). Refused at the
     * limit. A counter failure lets the credential through (see above).
     */
    async acquire(
      orgId: string,
      kind: QuotaKind,
      leaseId: string,
      opts: AcquireOptions = {},
    ): Promise<QuotaDecision> {
      const t = now();
      const expiresAt = opts.expiresAt ?? t + config.quotas.leaseSeconds * 1000;
      let limit = Number.POSITIVE_INFINITY;
      try {
        limit = limitFor(await limitsOf(orgId), kind, opts.inbound);
        const r = await counter.acquire(orgId, kind, leaseId, Math.max(0, limit), expiresAt, t);
        return { ok: r.acquired, live: r.live, limit };
      } catch (err) {
        logger?.warn(
          { err: { message: (err as Error).message }, org_id: orgId, kind },
          'quota counter unavailable: credential issued unchecked',
        );
        return { ok: true, live: 0, limit };
      }
    },

    /** Give slots back (the end event). Unknown or already released ids are fine. */
    async release(orgId: string, kind: QuotaKind, leaseIds: readonly string[]): Promise<void> {
      try {
        await counter.release(orgId, kind, leaseIds);
      } catch (err) {
        logger?.warn(
          { err: { message: (err as Error).message }, org_id: orgId, kind },
          'quota release failed: the lease will expire instead',
        );
      }
    },

    /** GET /api/orgs/current/usage: live counts against the limits in effect. */
    async usage(p: Principal): Promise<UsageView> {
      requirePermission(p, 'quotas:read');
      const t = now();
      const [limits, live] = await Promise.all([limitsOf(p.orgId), counter.live(p.orgId, t)]);
      return {
        counter: counter.name,
        live_calls: {
          live: live.live_calls,
          limit: limits.max_live_calls,
          inbound_reserved: limits.inbound_reserved_calls,
        },
        voice_sessions: { live: live.voice_sessions, limit: limits.max_voice_sessions },
        device_sockets: { live: live.device_sockets, limit: limits.max_device_sockets },
        scheduled_calls_per_day: {
          live: live.scheduled_calls_per_day,
          limit: limits.max_scheduled_calls_per_day,
          resets_at: new Date(nextUtcMidnight(t)).toISOString(),
        },
      };
    },

    async get(p: Principal): Promise<QuotasView> {
      requirePermission(p, 'quotas:read');
      const row = await withTenantRead(database, tenantOf(p), (tx) =>
        repo.findOrgQuotas(tx, p.orgId),
      );
      return view(row);
    },

    /**
     * PUT /api/orgs/current/quotas (owners and admins): every field given; null = back to the
     * platform's. Above the platform's bound, or a reserve (own or inherited) above the maximum →
     * 422 quota_above_platform_limit. Audited.
     */
    async set(p: Principal, input: QuotaSettings, meta: RequestMeta): Promise<QuotasView> {
      requirePermission(p, 'quotas:manage');
      const next = settingsOf(input as unknown as OrgQuotas);
      const problems = settingsProblems(platform, next);
      if (problems.length > 0) {
        throw new AppError('quota_above_platform_limit', problems[0]!.message, {
          errors: problems,
        });
      }
      const row = await withTenant(database, tenantOf(p), async (tx) => {
        const before = await repo.lockOrgQuotas(tx, p.orgId);
        const saved = await repo.upsertOrgQuotas(tx, p.orgId, next, p.userId);
        await recordAct(tx, meta, p, {
          action: 'org.quotas_updated',
          target_type: 'org',
          target_id: p.orgId,
          metadata: auditMetadata(settingsOf(before), next),
        });
        return saved;
      });
      cache.set(p.orgId, { at: Date.now(), row });
      return view(row);
    },

    kinds: QUOTA_KINDS,

    /** Resolves once the counter has stored every change so far (shutdown). */
    async settled(): Promise<void> {
      await counter.settled?.();
    },
  };
}

export type Quotas = ReturnType<typeof createQuotas>;
