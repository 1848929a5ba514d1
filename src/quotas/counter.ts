// The lease counter behind every quota: acquire a slot atomically against a limit, release it,
// count the live ones. A slot is a lease with an expiry, so a slot whose end event never comes
// (a lost webhook, a crashed instance) is reclaimed when its lease runs out. Acquiring a lease
// already held renews it (moves its expiry later) whatever the count: idempotent under retries,
// and how heartbeats keep a slot. Two implementations: Redis (REDIS_URL set) and the database.
import type { Redis } from 'ioredis';
import type { Database } from '../db/database.ts';
import type { QuotaKind } from '../db/schema.ts';
import { withTenantRead, withTenantStatement } from '../db/tenant.ts';
import { acquireLease, countLiveLeases, releaseLeases } from './quota.repository.ts';

export const QUOTA_KINDS = [
  'live_calls',
  'voice_sessions',
  'device_sockets',
  'scheduled_calls_per_day',
] as const satisfies readonly QuotaKind[];

export interface Acquired {
  acquired: boolean;
  /** Live leases of the kind after the call (this one included when acquired). */
  live: number;
}

export interface LeaseCounter {
  readonly name: 'redis' | 'database' | 'embedded';
  acquire(
    orgId: string,
    kind: QuotaKind,
    leaseId: string,
    limit: number,
    expiresAt: number,
    now: number,
  ): Promise<Acquired>;
  release(orgId: string, kind: QuotaKind, leaseIds: readonly string[]): Promise<void>;
  live(orgId: string, now: number): Promise<Record<QuotaKind, number>>;
  /** Resolves once every change so far is stored (a counter that writes behind). */
  settled?(): Promise<void>;
}

/** Every kind at zero: the shape of a live count. */
export const zeros = (): Record<QuotaKind, number> => ({
  live_calls: 0,
  voice_sessions: 0,
  device_sockets: 0,
  scheduled_calls_per_day: 0,
});

/** The org service context: the org acting as itself (row-level security confines it). */
const orgContext = (orgId: string) => ({ orgId, userId: null, role: null });

/**
 * Without Redis: quota_leases. Each call is one function call sent with its tenant context in one
 * round trip, one implicit transaction (see the migration's functions).
 */
export function createDatabaseCounter(database: Database): LeaseCounter {
  return {
    name: 'database',
    acquire(orgId, kind, leaseId, limit, expiresAt, now) {
      return withTenantStatement(database, orgContext(orgId), (tx) =>
        acquireLease(tx, kind, leaseId, limit, new Date(expiresAt), new Date(now)),
      );
    },
    async release(orgId, kind, leaseIds) {
      if (leaseIds.length === 0) return;
      await withTenantStatement(database, orgContext(orgId), (tx) =>
        releaseLeases(tx, kind, leaseIds),
      );
    },
    async live(orgId, now) {
      const counts = await withTenantRead(database, orgContext(orgId), (tx) =>
        countLiveLeases(tx, orgId, new Date(now)),
      );
      return { ...zeros(), ...counts };
    },
  };
}

// One sorted set per org and kind: members are lease ids, scores their expiry (ms). One script
// drops the expired, renews a held lease or adds a new one below the limit, and keeps the key
// alive as long as its latest lease: atomic on the Redis server, one round trip.
const ACQUIRE = `
local key = KEYS[1]
local now = tonumber(ARGV[1])
local expires = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local lease = ARGV[4]
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
local held = redis.call('ZSCORE', key, lease)
local n = redis.call('ZCARD', key)
if held then
  if tonumber(held) < expires then redis.call('ZADD', key, expires, lease) end
elseif n < limit then
  redis.call('ZADD', key, expires, lease)
  n = n + 1
else
  return {0, n}
end
local want = expires - now
if want > 0 and redis.call('PTTL', key) < want then redis.call('PEXPIRE', key, want) end
return {1, n}
`;

type QuotaRedis = Redis & {
  quotaAcquire(
    key: string,
    now: number,
    expires: number,
    limit: number,
    lease: string,
  ): Promise<[number, number]>;
};

/** With REDIS_URL: counters shared by every instance, one script call per acquire. */
export function createRedisCounter(redis: Redis, prefix: string): LeaseCounter {
  const r = redis as QuotaRedis;
  if (typeof r.quotaAcquire !== 'function') {
    redis.defineCommand('quotaAcquire', { numberOfKeys: 1, lua: ACQUIRE });
  }
  const key = (orgId: string, kind: QuotaKind) => `${prefix}:quota:${orgId}:${kind}`;
  return {
    name: 'redis',
    async acquire(orgId, kind, leaseId, limit, expiresAt, now) {
      const [ok, live] = await r.quotaAcquire(key(orgId, kind), now, expiresAt, limit, leaseId);
      return { acquired: ok === 1, live: Number(live) };
    },
    async release(orgId, kind, leaseIds) {
      if (leaseIds.length === 0) return;
      await redis.zrem(key(orgId, kind), ...leaseIds);
    },
    async live(orgId, now) {
      const pipeline = redis.pipeline();
      for (const kind of QUOTA_KINDS) pipeline.zcount(key(orgId, kind), `(${now}`, '+inf');
      const results = (await pipeline.exec()) ?? [];
      const counts = zeros();
      QUOTA_KINDS.forEach((kind, i) => {
        const [err, n] = results[i] ?? [null, 0];
        if (err) throw err;
        counts[kind] = Number(n);
      });
      return counts;
    },
  };
}
