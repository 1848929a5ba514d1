// What the concurrency-quota check adds to each credential issue (src/quotas/): one acquire of a
// fresh lease and its release, through the service every issue point calls (the org's limits from
// the per-instance cache, then the counter), measured in-process, one at a time, for each counter:
// the embedded counter (in the memory of the process that owns the PGlite data directory,
// written behind to quota_leases), the database counter on PostgreSQL (one statement in one round
// trip: the advisory lock, expiry, count and insert in app_acquire_quota_lease), and the Redis
// counter (one Lua script).
// `npx tsx bench/quotas.ts` prints the table; bench/run.ts puts it into BENCHMARKS.md.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../src/config.ts';
import type { QuotaKind } from '../src/db/schema.ts';
import { withSystem } from '../src/db/tenant.ts';
import { openRedis } from '../src/infra/redis.ts';
import { createQuotas } from '../src/quotas/quotas.service.ts';
import { deleteKeysUnder } from '../src/test/redis.ts';
import { openScratch, type Scratch } from './scratch.ts';

export interface QuotaRow {
  counter: string;
  iterations: number;
  acquireP50: number;
  acquireP99: number;
  pairP50: number;
  pairP99: number;
}

/**
 * Issues run before any is measured: a server issues credentials all day, so the figure is its
 * steady state (code optimised by V8, the function's plans cached by PostgreSQL), not its first
 * moments. Fewer than ~1000 leave the first-round tail of a cold process in the p99.
 */
const WARM_UP = 2000;

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function measure(
  name: string,
  scratch: Scratch,
  redisUrl: string | undefined,
  iterations: number,
): Promise<QuotaRow> {
  const config = loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: scratch.dataDir,
    LOG_LEVEL: 'silent',
    REDIS_KEY_PREFIX: `sbbench:${randomUUID().slice(0, 8)}`,
  });
  const redis = redisUrl ? openRedis(redisUrl) : undefined;
  if (redis) await new Promise((resolve) => redis.once('ready', resolve));
  const orgId = randomUUID();
  await withSystem(scratch.database, (tx) =>
    tx.insertInto('orgs').values({ id: orgId, name: 'Bench', kind: 'company' }).execute(),
  );
  const quotas = createQuotas({ database: scratch.database, config, redis });
  const kinds: QuotaKind[] = ['live_calls', 'voice_sessions', 'device_sockets'];
  // Some leases already held, as in a busy org: the count is over real rows or members.
  for (let i = 0; i < 20; i++) await quotas.acquire(orgId, kinds[i % 3]!, `held-${i}`);
  const acquire: number[] = [];
  const pair: number[] = [];
  for (let i = 0; i < iterations + WARM_UP; i++) {
    const kind = kinds[i % 3]!;
    const lease = `bench-${i}`;
    const t0 = performance.now();
    const d = await quotas.acquire(orgId, kind, lease);
    const t1 = performance.now();
    await quotas.release(orgId, kind, [lease]);
    const t2 = performance.now();
    if (!d.ok) throw new Error('refused under the limit');
    if (i < WARM_UP) continue;
    acquire.push(t1 - t0);
    pair.push(t2 - t0);
  }
  await quotas.settled();
  // The leases held above stay in Redis until their expiry otherwise: the machine's Redis is shared.
  if (redis) {
    await deleteKeysUnder(redis, config.redisKeyPrefix);
    await redis.quit();
  }
  acquire.sort((a, b) => a - b);
  pair.sort((a, b) => a - b);
  return {
    counter: name,
    iterations,
    acquireP50: pct(acquire, 50),
    acquireP99: pct(acquire, 99),
    pairP50: pct(pair, 50),
    pairP99: pct(pair, 99),
  };
}

export async function quotaBench(options: {
  iterations?: number;
  postgres: boolean;
  redisUrl?: string;
}): Promise<QuotaRow[]> {
  const iterations = options.iterations ?? 2000;
  const rows: QuotaRow[] = [];
  const targets: [string, 'pglite' | 'postgres', string | undefined][] = [
    ['embedded counter (in process, written behind to PGlite)', 'pglite', undefined],
  ];
  if (options.postgres) targets.push(['database counter, PostgreSQL', 'postgres', undefined]);
  if (options.redisUrl)
    targets.push([
      'Redis counter (PostgreSQL for the limits)',
      options.postgres ? 'postgres' : 'pglite',
      options.redisUrl,
    ]);
  for (const [name, kind, redisUrl] of targets) {
    const scratch = await openScratch(kind, 'sb_bench_quota');
    try {
      rows.push(await measure(name, scratch, redisUrl, iterations));
      console.log(`quota check, ${name}: ${JSON.stringify(rows.at(-1))}`);
    } finally {
      await scratch.close();
    }
  }
  return rows;
}

const ms = (v: number) => v.toFixed(3);

export function quotaMarkdown(rows: readonly QuotaRow[], note = ''): string {
  const table = [
    '| Counter | issues measured | acquire p50 ms | acquire p99 ms | acquire + release p50 ms | acquire + release p99 ms |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.counter} | ${r.iterations} | ${ms(r.acquireP50)} | ${ms(r.acquireP99)} | ${ms(r.pairP50)} | ${ms(r.pairP99)} |`,
    ),
  ].join('\n');
  return `## Concurrency quota check per credential issue

What the quota check adds to issuing a credential (an incoming call's TwiML, a dispatch, a LiveKit
token, a socket upgrade): one acquire through the quota service (the org's limits from the
per-instance cache, then the counter) and, at the end event, its release; measured one at a time in
one process, after ${WARM_UP} warm-up issues, with 20 leases of the org already held (bench/quotas.ts).${note}

${table}
`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await quotaBench({
    iterations: Number(process.env.BENCH_QUOTA_ITERATIONS ?? 2000),
    postgres: process.env.BENCH_POSTGRES !== '0',
    redisUrl: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
  });
  console.log(quotaMarkdown(rows));
  process.exit(0);
}
