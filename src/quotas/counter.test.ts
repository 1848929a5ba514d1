// The lease counters themselves, all three (Redis only when REDIS_URL is set): the limit holds,
// a held lease renews, release frees, expiry reclaims (an injected clock: no sleeping), N parallel
// acquirers never pass the limit, and orgs and kinds never share a count.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Org } from '../db/schema.ts';
import { openRedis } from '../infra/redis.ts';
import { createTestDatabase, type TestDatabase } from '../test/db.ts';
import { createOrg } from '../test/factories.ts';
import { deleteKeysUnder } from '../test/redis.ts';
import { createDatabaseCounter, createRedisCounter, type LeaseCounter } from './counter.ts';
import { EmbeddedLeases, embeddedCounterFor } from './embedded-counter.ts';

const REDIS_URL = process.env.REDIS_URL;
const PREFIX = `sbtest:quota:${randomBytes(4).toString('hex')}`;

let database: TestDatabase;
let redis: Redis | undefined;
const counters: Record<string, () => LeaseCounter> = {
  database: () => createDatabaseCounter(database),
  embedded: () => new EmbeddedLeases(database),
};
if (REDIS_URL) counters.redis = () => createRedisCounter(redis!, PREFIX);

beforeAll(async () => {
  database = await createTestDatabase();
  if (REDIS_URL) {
    redis = openRedis(REDIS_URL);
    await new Promise((resolve) => redis!.once('ready', resolve));
  }
});
afterAll(async () => {
  if (redis) {
    await deleteKeysUnder(redis, PREFIX);
    await redis.quit();
  }
  await database.close();
});

const T0 = Date.UTC(2026, 10, 30, 12, 0, 0);
const MIN = 60_000;

describe.each(Object.keys(counters))('the %s lease counter', (name) => {
  let counter: LeaseCounter;
  let org: Org;
  let other: Org;
  beforeAll(async () => {
    counter = counters[name]!();
    org = await createOrg(database, `Quota ${name}`);
    other = await createOrg(database, `Other ${name}`);
  });

  it('admits up to the limit, refuses beyond it, and frees a slot on release', async () => {
    const take = (id: string) => counter.acquire(org.id, 'live_calls', id, 2, T0 + MIN, T0);
    expect(await take('a')).toEqual({ acquired: true, live: 1 });
    expect(await take('b')).toEqual({ acquired: true, live: 2 });
    expect(await take('c')).toEqual({ acquired: false, live: 2 });
    // A held lease is renewed, not refused, at the limit (Twilio retries, heartbeats).
    expect(await take('a')).toEqual({ acquired: true, live: 2 });
    await counter.release(org.id, 'live_calls', ['a', 'never-held']);
    expect(await take('c')).toEqual({ acquired: true, live: 2 });
    expect((await counter.live(org.id, T0)).live_calls).toBe(2);
    await counter.release(org.id, 'live_calls', ['b', 'c']);
    expect((await counter.live(org.id, T0)).live_calls).toBe(0);
  });

  it('reclaims a lease whose end event never came once it expires', async () => {
    const kind = 'voice_sessions';
    expect((await counter.acquire(org.id, kind, 'lost', 1, T0 + MIN, T0)).acquired).toBe(true);
    expect(
      (await counter.acquire(org.id, kind, 'next', 1, T0 + 2 * MIN, T0 + MIN - 1)).acquired,
    ).toBe(false);
    expect((await counter.live(org.id, T0 + MIN - 1)).voice_sessions).toBe(1);
    expect((await counter.live(org.id, T0 + MIN)).voice_sessions).toBe(0);
    expect(await counter.acquire(org.id, kind, 'next', 1, T0 + 3 * MIN, T0 + MIN)).toEqual({
      acquired: true,
      live: 1,
    });
    await counter.release(org.id, kind, ['next']);
  });

  it('takes a lease id whose earlier lease expired as a new lease, counted once', async () => {
    const kind = 'voice_sessions';
    expect((await counter.acquire(org.id, kind, 'again', 1, T0 + MIN, T0)).acquired).toBe(true);
    // Expired, never released: the same id comes back after the expiry.
    expect(await counter.acquire(org.id, kind, 'again', 1, T0 + 3 * MIN, T0 + MIN + 1)).toEqual({
      acquired: true,
      live: 1,
    });
    expect((await counter.live(org.id, T0 + 2 * MIN)).voice_sessions).toBe(1);
    expect(
      (await counter.acquire(org.id, kind, 'other', 1, T0 + 3 * MIN, T0 + 2 * MIN)).acquired,
    ).toBe(false);
    await counter.release(org.id, kind, ['again']);
  });

  it('a renewal moves the expiry later, never earlier', async () => {
    const kind = 'device_sockets';
    await counter.acquire(org.id, kind, 'ws', 1, T0 + 2 * MIN, T0);
    await counter.acquire(org.id, kind, 'ws', 1, T0 + MIN, T0 + 1); // an older renewal, late
    expect((await counter.live(org.id, T0 + MIN + 1)).device_sockets).toBe(1);
    await counter.acquire(org.id, kind, 'ws', 1, T0 + 5 * MIN, T0 + MIN + 1); // the heartbeat
    expect((await counter.live(org.id, T0 + 4 * MIN)).device_sockets).toBe(1);
    await counter.release(org.id, kind, ['ws']);
  });

  it('never passes the limit under N parallel acquirers', async () => {
    const kind = 'scheduled_calls_per_day';
    const results = await Promise.all(
      Array.from({ length: 25 }, (_, i) => counter.acquire(org.id, kind, `p${i}`, 7, T0 + MIN, T0)),
    );
    expect(results.filter((r) => r.acquired)).toHaveLength(7);
    expect((await counter.live(org.id, T0)).scheduled_calls_per_day).toBe(7);
    await counter.release(
      org.id,
      kind,
      results.map((_, i) => `p${i}`),
    );
  });

  it('keeps orgs and kinds apart', async () => {
    expect((await counter.acquire(org.id, 'live_calls', 'x', 1, T0 + MIN, T0)).acquired).toBe(true);
    expect((await counter.acquire(other.id, 'live_calls', 'y', 1, T0 + MIN, T0)).acquired).toBe(
      true,
    );
    expect((await counter.acquire(org.id, 'voice_sessions', 'z', 1, T0 + MIN, T0)).acquired).toBe(
      true,
    );
    // Another org releasing the same lease id frees nothing here.
    await counter.release(other.id, 'live_calls', ['x']);
    expect((await counter.acquire(org.id, 'live_calls', 'w', 1, T0 + MIN, T0)).acquired).toBe(
      false,
    );
    const live = await counter.live(org.id, T0);
    expect(live).toMatchObject({ live_calls: 1, voice_sessions: 1, device_sockets: 0 });
    await counter.release(org.id, 'live_calls', ['x']);
    await counter.release(org.id, 'voice_sessions', ['z']);
    await counter.release(other.id, 'live_calls', ['y']);
  });

  it('a limit of 0 refuses everything', async () => {
    expect(await counter.acquire(org.id, 'live_calls', 'zero', 0, T0 + MIN, T0)).toEqual({
      acquired: false,
      live: 0,
    });
  });
});

describe('the embedded counter', () => {
  it('writes behind to quota_leases, and a restarted process reads the org back', async () => {
    const org = await createOrg(database, 'Embedded restart');
    const now = Date.now();
    const first = new EmbeddedLeases(database);
    expect((await first.acquire(org.id, 'live_calls', 'kept', 2, now + MIN, now)).acquired).toBe(
      true,
    );
    await first.acquire(org.id, 'live_calls', 'gone', 2, now + MIN, now);
    await first.release(org.id, 'live_calls', ['gone']);
    await first.settled();
    // What the database counter sees is what the memory held.
    expect((await createDatabaseCounter(database).live(org.id, now)).live_calls).toBe(1);

    const restarted = new EmbeddedLeases(database);
    expect((await restarted.live(org.id, now)).live_calls).toBe(1);
    expect(await restarted.acquire(org.id, 'live_calls', 'new', 2, now + MIN, now)).toEqual({
      acquired: true,
      live: 2,
    });
    expect(
      (await restarted.acquire(org.id, 'live_calls', 'third', 2, now + MIN, now)).acquired,
    ).toBe(false);
    await restarted.release(org.id, 'live_calls', ['kept', 'new']);
    await restarted.settled();
    expect((await createDatabaseCounter(database).live(org.id, now)).live_calls).toBe(0);
  });

  it('is one per database handle, so two app instances over one handle share the count', () => {
    expect(embeddedCounterFor(database)).toBe(embeddedCounterFor(database));
  });
});
