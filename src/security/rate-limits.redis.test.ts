// The same limits against a real Redis: counts are shared by every instance, and a Redis that
// cannot be reached degrades to per-instance limits instead of failing requests.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../http/errors.ts';
import { openRedis } from '../infra/redis.ts';
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

async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
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
    const keys = await keysUnder(a, PREFIX);
    if (keys.length > 0) await a.del(...keys);
    expect(await keysUnder(a, PREFIX)).toEqual([]);
  }
  await Promise.all([a?.quit(), b?.quit()]);
});

describe('createRateLimiter (Redis)', () => {
  it('two instances sharing one Redis share counts', async () => {
    const specs = specsWith({ register_ip: { points: 3, durationSec: 60, blockSec: 60 } });
    const one = createRateLimiter({ specs, redis: a, keyPrefix: PREFIX });
    const two = createRateLimiter({ specs, redis: b, keyPrefix: PREFIX });
    await one.consume('register_ip', '10.0.0.1');
    await two.consume('register_ip', '10.0.0.1');
    await one.consume('register_ip', '10.0.0.1');
    await rejection(two.check('register_ip', '10.0.0.1'));
    const err = await rejection(two.consume('register_ip', '10.0.0.1'));
    expect(Number(err.extras.headers?.['retry-after'])).toBeGreaterThanOrEqual(59);
    await rejection(one.consume('register_ip', '10.0.0.1'));
    await one.consume('register_ip', '10.0.0.2');
    await two.reset('register_ip', '10.0.0.1');
    await one.check('register_ip', '10.0.0.1');
    await one.consume('register_ip', '10.0.0.1');
  });

  it('penalize blocks across instances for blockSec, and the block ends by time', async () => {
    const specs = specsWith({ mfa_verify: { points: 2, durationSec: 1, blockSec: 1 } });
    const one = createRateLimiter({ specs, redis: a, keyPrefix: PREFIX });
    const two = createRateLimiter({ specs, redis: b, keyPrefix: PREFIX });
    expect((await one.penalize('mfa_verify', 'user-1')).blocked).toBe(false);
    expect((await two.penalize('mfa_verify', 'user-1')).blocked).toBe(true);
    await rejection(one.check('mfa_verify', 'user-1'));
    await new Promise((r) => setTimeout(r, 1_100));
    await one.check('mfa_verify', 'user-1');
    await two.check('mfa_verify', 'user-1');
  });

  it('stores only hashed keys', async () => {
    const rl = createRateLimiter({ specs: DEFAULTS, redis: a, keyPrefix: PREFIX });
    const email = 'Secret.Person+tag@example.com';
    await rl.penalize('login_account', email);
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
    // One IP alternating between instances is blocked for the account after the pair allowance.
    for (let i = 0; i < pair.points; i++) {
      const g = guards[i % 2]!;
      await g.beforeAttempt({ account, ip: '198.51.100.1' });
      await g.onFailure({ account, ip: '198.51.100.1' });
    }
    await rejection(g1.beforeAttempt({ account, ip: '198.51.100.1' }));
    await rejection(g2.beforeAttempt({ account, ip: '198.51.100.1' }));
    // Parallel failures from that IP on both instances do not reach the account counter.
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        guards[i % 2]!.onFailure({ account, ip: '198.51.100.1' }),
      ),
    );
    await g1.beforeAttempt({ account, ip: '203.0.113.5' });
    // Three more IPs, spread over the instances, lock the account everywhere.
    for (const ip of ['198.51.100.2', '198.51.100.3', '198.51.100.4']) {
      for (let i = 0; i < pair.points; i++) await guards[i % 2]!.onFailure({ account, ip });
    }
    await rejection(g1.beforeAttempt({ account, ip: '203.0.113.5' }));
    await rejection(g2.beforeAttempt({ account, ip: '203.0.113.6' }));
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
      await rl.check('register_ip', 'ip');
      await rl.consume('register_ip', 'ip');
      await rl.consume('register_ip', 'ip');
      await rejection(rl.consume('register_ip', 'ip'));
      await rejection(rl.check('register_ip', 'ip'));
      await rl.reset('register_ip', 'ip');
      await rl.consume('register_ip', 'ip');

      await rl.penalize('mfa_verify', 'u');
      expect((await rl.penalize('mfa_verify', 'u')).blocked).toBe(true);
      await rejection(rl.check('mfa_verify', 'u'));

      const guard = createLoginGuard(rl);
      for (let i = 0; i < DEFAULTS.login_account_ip.points; i++) {
        await guard.beforeAttempt({ account: 'x@example.com', ip: '10.0.0.1' });
        await guard.onFailure({ account: 'x@example.com', ip: '10.0.0.1' });
      }
      await rejection(guard.beforeAttempt({ account: 'x@example.com', ip: '10.0.0.1' }));
      await guard.beforeAttempt({ account: 'x@example.com', ip: '10.0.0.2' });
      await guard.onSuccess({ account: 'x@example.com', ip: '10.0.0.2' });
      expect(dead.status).not.toBe('ready');
    } finally {
      dead.disconnect();
    }
  });
});
