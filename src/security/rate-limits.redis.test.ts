// The same limits against a real Redis: counts are shared by every instance, and a Redis that
// cannot be reached degrades to per-instance limits instead of failing requests.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../http/errors.ts';
import { openRedis } from '../infra/redis.ts';
import { deleteKeysUnder, keysUnder } from '../test/redis.ts';
import { clientKey } from './client-key.ts';
import {
  createLoginGuard,
  createRateLimiter,
  type LimitName,
  type LimitSpec,
  parseLimitOverrides,
} from './rate-limits.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `sb-test:rl:${randomUUID()}`;
const DEFAULTS = parseLimitOverrides({});

const specsWith = (overrides: Partial<Record<LimitName, LimitSpec>>) => ({
  ...DEFAULTS,
  ...overrides,
});

async function rejection(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  expect((err as AppError).code).toBe('rate_limited');
  const header = (err as AppError).extras.headers?.['retry-after'];
  expect(header).toMatch(/^[1-9]\d*$/);
  return err as AppError;
}

let a: Redis;
let b: Redis;

beforeAll(async () => {
  a = openRedis(REDIS_URL);
  b = openRedis(REDIS_URL);
  // openRedis does not queue commands while connecting; wait until both connections are up, or
  // the limiter would silently run on its memory insurance.
  await Promise.all([a, b].map((r) => new Promise((resolve) => r.once('ready', resolve))));
});

afterAll(async () => {
  if (a) {
    await deleteKeysUnder(a, PREFIX);
    expect(await keysUnder(a, PREFIX)).toEqual([]);
  }
  await Promise.all([a?.quit(), b?.quit()]);
});

describe('createRateLimiter (Redis)', () => {
  it('two instances sharing one Redis share counts', async () => {
    const specs = specsWith({ register_ip: { points: 3, durationSec: 60, blockSec: 60 } });
    const one = createRateLimiter({ specs, redis: a, keyPrefix: PREFIX });
    const two = createRateLimiter({ specs, redis: b, keyPrefix: PREFIX });
    const ip = clientKey('10.0.0.1');
    await one.consume('register_ip', ip);
    await two.consume('register_ip', ip);
    await one.consume('register_ip', ip);
    expect((await two.peek('register_ip', ip)).blocked).toBe(true);
    const err = await rejection(two.consume('register_ip', ip));
    expect(Number(err.extras.headers?.['retry-after'])).toBeGreaterThanOrEqual(59);
    await rejection(one.consume('register_ip', ip));
    await one.consume('register_ip', clientKey('10.0.0.2'));
    await two.reset('register_ip', ip);
    await one.consume('register_ip', ip);
  });

  it('reserve lets exactly `points` of many parallel attempts through, across instances', async () => {
    const specs = specsWith({ mfa_verify: { points: 5, durationSec: 60, blockSec: 60 } });
    const one = createRateLimiter({ specs, redis: a, keyPrefix: PREFIX });
    const two = createRateLimiter({ specs, redis: b, keyPrefix: PREFIX });
    const user = `user-${randomUUID()}`;
    const results = await Promise.allSettled(
      Array.from({ length: 200 }, (_, i) => (i % 2 ? one : two).reserve('mfa_verify', user)),
    );
    const granted = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    expect(granted).toHaveLength(5);
    for (const r of results) {
      if (r.status === 'rejected') expect((r.reason as AppError).code).toBe('rate_limited');
    }
    // Refusals counted nothing; successes give their points back.
    expect((await one.peek('mfa_verify', user)).consumed).toBe(5);
    await Promise.all(granted.map((r) => r.succeeded()));
    expect((await two.peek('mfa_verify', user)).consumed).toBe(0);
  });

  it('the last failure blocks across instances for blockSec, and the block ends by time', async () => {
    const specs = specsWith({ mfa_verify: { points: 2, durationSec: 1, blockSec: 2 } });
    const one = createRateLimiter({ specs, redis: a, keyPrefix: PREFIX });
    const two = createRateLimiter({ specs, redis: b, keyPrefix: PREFIX });
    await (await one.reserve('mfa_verify', 'user-1')).failed();
    await (await two.reserve('mfa_verify', 'user-1')).failed();
    await rejection(one.reserve('mfa_verify', 'user-1'));
    // The block outlives the window.
    await new Promise((r) => setTimeout(r, 1_100));
    await rejection(two.reserve('mfa_verify', 'user-1'));
    await new Promise((r) => setTimeout(r, 1_000));
    await (await one.reserve('mfa_verify', 'user-1')).release();
    await (await two.reserve('mfa_verify', 'user-1')).release();
  });

  it('an attempt outliving its window gives back no extra attempt in the next one', async () => {
    const specs = specsWith({ mfa_verify: { points: 1, durationSec: 1, blockSec: 1 } });
    const rl = createRateLimiter({ specs, redis: a, keyPrefix: PREFIX });
    const slow = await rl.reserve('mfa_verify', 'user-slow');
    await new Promise((r) => setTimeout(r, 1_100));
    await slow.succeeded();
    expect((await rl.peek('mfa_verify', 'user-slow')).consumed).toBe(0);
    await rl.reserve('mfa_verify', 'user-slow');
    await rejection(rl.reserve('mfa_verify', 'user-slow'));
  });

  it('stores only hashed keys', async () => {
    const rl = createRateLimiter({ specs: DEFAULTS, redis: a, keyPrefix: PREFIX });
    const email = 'Secret.Person+tag@example.com';
    await (await rl.reserve('login_account', email)).failed();
    const keys = await keysUnder(a, `${PREFIX}:login_account`);
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(new RegExp(`^${PREFIX}:login_account:[A-Za-z0-9_-]{43}$`));
    expect(keys.join()).not.toContain('example');
  });

  it('the login guard holds across instances', async () => {
    const { login_account_ip: pair } = DEFAULTS;
    const g1 = createLoginGuard(
      createRateLimiter({ specs: DEFAULTS, redis: a, keyPrefix: PREFIX }),
    );
    const g2 = createLoginGuard(
      createRateLimiter({ specs: DEFAULTS, redis: b, keyPrefix: PREFIX }),
    );
    const guards = [g1, g2];
    const account = 'target@example.com';
    const at = (ip: string) => ({ account, ip: clientKey(ip) });
    const fail = async (g: (typeof guards)[number], ip: string) =>
      (await g.reserve(at(ip))).failed();
    const allowed = async (g: (typeof guards)[number], ip: string) =>
      (await g.reserve(at(ip))).release();
    // One IP alternating between instances is blocked for the account after the pair allowance.
    for (let i = 0; i < pair.points; i++) await fail(guards[i % 2]!, '198.51.100.1');
    await rejection(g1.reserve(at('198.51.100.1')));
    await rejection(g2.reserve(at('198.51.100.1')));
    // Parallel attempts from another IP on both instances: only its pair allowance gets through,
    // and the account is still open.
    const burst = await Promise.allSettled(
      Array.from({ length: 60 }, (_, i) => fail(guards[i % 2]!, '198.51.100.9')),
    );
    expect(burst.filter((r) => r.status === 'fulfilled')).toHaveLength(pair.points);
    await allowed(g1, '203.0.113.5');
    // Two more IPs, spread over the instances, lock the account everywhere.
    for (const ip of ['198.51.100.2', '198.51.100.3']) {
      for (let i = 0; i < pair.points; i++) await fail(guards[i % 2]!, ip);
    }
    await rejection(g1.reserve(at('203.0.113.5')));
    await rejection(g2.reserve(at('203.0.113.6')));
  });
});

describe('insurance: Redis unreachable', () => {
  it('enforces limits per instance and throws nothing but rate_limited', async () => {
    const dead = openRedis('redis://127.0.0.1:1');
    try {
      const specs = specsWith({
        register_ip: { points: 2, durationSec: 60, blockSec: 60 },
        mfa_verify: { points: 2, durationSec: 60, blockSec: 60 },
      });
      const rl = createRateLimiter({ specs, redis: dead, keyPrefix: PREFIX });
      const ip = clientKey('10.0.0.1');
      expect((await rl.peek('register_ip', ip)).blocked).toBe(false);
      await rl.consume('register_ip', ip);
      await rl.consume('register_ip', ip);
      await rejection(rl.consume('register_ip', ip));
      await rl.reset('register_ip', ip);
      await rl.consume('register_ip', ip);

      // Reservations stay atomic on the per-instance fallback.
      const parallel = await Promise.allSettled(
        Array.from({ length: 50 }, () => rl.reserve('mfa_verify', 'u')),
      );
      const granted = parallel.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      expect(granted).toHaveLength(2);
      await granted[1]!.succeeded();
      await granted[0]!.failed();
      await (await rl.reserve('mfa_verify', 'u')).failed();
      await rejection(rl.reserve('mfa_verify', 'u'));

      const guard = createLoginGuard(rl);
      const x = (ip: string) => ({ account: 'x@example.com', ip: clientKey(ip) });
      for (let i = 0; i < DEFAULTS.login_account_ip.points; i++) {
        await (await guard.reserve(x('10.0.0.1'))).failed();
      }
      await rejection(guard.reserve(x('10.0.0.1')));
      await (await guard.reserve(x('10.0.0.2'))).succeeded();
      expect(dead.status).not.toBe('ready');
    } finally {
      dead.disconnect();
    }
  });
});
