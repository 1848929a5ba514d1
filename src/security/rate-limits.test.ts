import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AppError } from '../http/errors.ts';
import { type ClientKey, clientKey } from './client-key.ts';
import {
  assertLoginInvariants,
  createLoginGuard,
  createRateLimiter,
  LIMIT_DEFAULTS,
  LIMIT_NAMES,
  type LimitName,
  type LimitSpec,
  parseLimitOverrides,
  type Reservation,
  reserveAll,
} from './rate-limits.ts';

const DEFAULTS = parseLimitOverrides({});

function specsWith(overrides: Partial<Record<LimitName, LimitSpec>>) {
  return { ...DEFAULTS, ...overrides };
}

async function rejection(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  const app = err as AppError;
  expect(app.code).toBe('rate_limited');
  expect(app.status).toBe(429);
  return app;
}

function retryAfter(err: AppError): number {
  const header = err.extras.headers?.['retry-after'];
  expect(header).toMatch(/^[1-9]\d*$/);
  expect(err.extras.retry_after).toBe(Number(header));
  return Number(header);
}

beforeEach(() => {
  // The memory store expires keys by Date.now() and setTimeout; both are faked so windows of
  // many minutes pass instantly.
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('createRateLimiter (memory)', () => {
  it('allows `points` requests per window and refuses the next with Retry-After', async () => {
    const rl = createRateLimiter({
      specs: specsWith({ register_ip: { points: 3, durationSec: 60, blockSec: 120 } }),
    });
    const ip = clientKey('10.0.0.1');
    for (let i = 0; i < 3; i++) await rl.consume('register_ip', ip);
    const err = await rejection(rl.consume('register_ip', ip));
    const seconds = retryAfter(err);
    expect(seconds).toBeGreaterThanOrEqual(119);
    expect(seconds).toBeLessThanOrEqual(120);
    expect(err.message).toContain(`${seconds} seconds`);
    // Another key is unaffected.
    await rl.consume('register_ip', clientKey('10.0.0.2'));
  });

  it('Retry-After tracks the remaining block and the block ends by time', async () => {
    const rl = createRateLimiter({
      specs: specsWith({ register_ip: { points: 1, durationSec: 60, blockSec: 100 } }),
    });
    const k = clientKey('k');
    await rl.consume('register_ip', k);
    await rejection(rl.consume('register_ip', k));
    vi.advanceTimersByTime(40_000);
    // Refusals during the block do not extend it.
    const seconds = retryAfter(await rejection(rl.consume('register_ip', k)));
    expect(seconds).toBeGreaterThanOrEqual(59);
    expect(seconds).toBeLessThanOrEqual(60);
    vi.advanceTimersByTime(60_001);
    await rl.consume('register_ip', k);
  });

  it('the racy read-then-count API is gone', () => {
    const rl = createRateLimiter({ specs: DEFAULTS });
    // A check before the work and a penalty after it let every parallel attempt through.
    expect(rl).not.toHaveProperty('check');
    expect(rl).not.toHaveProperty('penalize');
  });
  it('keeps limits apart and accepts any string as a key', async () => {
    const rl = createRateLimiter({
      specs: specsWith({
        password_forgot_ip: { points: 1, durationSec: 60, blockSec: 60 },
        password_forgot_account: { points: 1, durationSec: 60, blockSec: 60 },
      }),
    });
    const odd = 'a:b*{x}\n"é"@example.com'.repeat(200);
    await rl.consume('password_forgot_account', odd);
    await rejection(rl.consume('password_forgot_account', odd));
    await rl.consume('password_forgot_ip', odd as ClientKey);
    await rl.consume('password_forgot_account', `${odd}x`);
  });
});

describe('reserve (memory)', () => {
  const tight = specsWith({ mfa_verify: { points: 3, durationSec: 30, blockSec: 300 } });

  it('lets exactly `points` of many parallel attempts through; the rest are refused', async () => {
    const rl = createRateLimiter({ specs: tight });
    const results = await Promise.allSettled(
      Array.from({ length: 200 }, () => rl.reserve('mfa_verify', 'user-1')),
    );
    const granted = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected');
    expect(granted).toHaveLength(3);
    for (const r of refused) expect((r.reason as AppError).code).toBe('rate_limited');
    // Refusals counted nothing: the three in flight are all there is.
    expect((await rl.peek('mfa_verify', 'user-1')).consumed).toBe(3);
  });

  it('a success gives its point back; a failure keeps it; the last one starts the block', async () => {
    const rl = createRateLimiter({ specs: tight });
    for (let i = 0; i < 10; i++) await (await rl.reserve('mfa_verify', 'u')).succeeded();
    expect((await rl.peek('mfa_verify', 'u')).consumed).toBe(0);
    await (await rl.reserve('mfa_verify', 'u')).failed();
    await (await rl.reserve('mfa_verify', 'u')).failed();
    expect((await rl.peek('mfa_verify', 'u')).consumed).toBe(2);
    await (await rl.reserve('mfa_verify', 'u')).failed();
    const seconds = retryAfter(await rejection(rl.reserve('mfa_verify', 'u')));
    expect(seconds).toBeGreaterThanOrEqual(299);
    // The block outlives the 30 s window, and refusals do not extend it.
    vi.advanceTimersByTime(200_000);
    const later = retryAfter(await rejection(rl.reserve('mfa_verify', 'u')));
    expect(later).toBeLessThanOrEqual(100);
    vi.advanceTimersByTime(100_001);
    await rl.reserve('mfa_verify', 'u');
  });

  it('a block set by the last failure holds while earlier attempts in flight succeed', async () => {
    const rl = createRateLimiter({ specs: tight });
    const [a, b, c] = await Promise.all([1, 2, 3].map(() => rl.reserve('mfa_verify', 'u')));
    await c!.failed();
    await rejection(rl.reserve('mfa_verify', 'u'));
    await a!.failed();
    await b!.failed();
    await rejection(rl.reserve('mfa_verify', 'u'));
  });

  it('a refusal while attempts still in flight hold the allowance says to retry in a second', async () => {
    // Nothing is blocked yet: the verdicts of the attempts in flight decide whether the next one
    // gets through (they succeed) or a block starts (the last one fails). Announcing the rest of
    // the window (or the block) would send a client whose right password is being checked away
    // for nothing.
    const rl = createRateLimiter({ specs: tight });
    const [a, b, c] = await Promise.all([1, 2, 3].map(() => rl.reserve('mfa_verify', 'u')));
    expect(retryAfter(await rejection(rl.reserve('mfa_verify', 'u')))).toBe(1);
    await a!.succeeded();
    await b!.failed();
    // One counted failure, c still in flight, and d takes the last point.
    const d = await rl.reserve('mfa_verify', 'u');
    expect(retryAfter(await rejection(rl.reserve('mfa_verify', 'u')))).toBe(1);
    await d.failed();
    // The failure on the last point started the block: now its length is the wait.
    expect(retryAfter(await rejection(rl.reserve('mfa_verify', 'u')))).toBeGreaterThanOrEqual(299);
    await c!.succeeded();
    expect(retryAfter(await rejection(rl.reserve('mfa_verify', 'u')))).toBeGreaterThanOrEqual(299);
  });

  it('release gives the point back; an attempt settles once', async () => {
    const rl = createRateLimiter({ specs: tight });
    const r = await rl.reserve('mfa_verify', 'u');
    await r.release();
    await r.release();
    await r.succeeded();
    expect((await rl.peek('mfa_verify', 'u')).consumed).toBe(0);
    const f = await rl.reserve('mfa_verify', 'u');
    await f.failed();
    await f.succeeded();
    await f.release();
    expect((await rl.peek('mfa_verify', 'u')).consumed).toBe(1);
  });

  it('an attempt never settled keeps its point until the window ends, without a block', async () => {
    const rl = createRateLimiter({ specs: tight });
    for (let i = 0; i < 3; i++) await rl.reserve('mfa_verify', 'u');
    const seconds = retryAfter(await rejection(rl.reserve('mfa_verify', 'u')));
    expect(seconds).toBeLessThanOrEqual(30);
    vi.advanceTimersByTime(30_001);
    await rl.reserve('mfa_verify', 'u');
  });

  it('an attempt outliving its window gives back no extra attempt in the next one', async () => {
    const rl = createRateLimiter({ specs: tight });
    const slow = await rl.reserve('mfa_verify', 'u');
    vi.advanceTimersByTime(30_001);
    await slow.succeeded();
    expect((await rl.peek('mfa_verify', 'u')).consumed).toBe(0);
    for (let i = 0; i < 3; i++) await rl.reserve('mfa_verify', 'u');
    await rejection(rl.reserve('mfa_verify', 'u'));
  });

  it('reserveAll takes every point or none, and reports the longest wait', async () => {
    const rl = createRateLimiter({
      specs: specsWith({
        mfa_verify: { points: 2, durationSec: 60, blockSec: 60 },
        login_ip: { points: 1, durationSec: 600, blockSec: 600 },
      }),
    });
    const ip = clientKey('2001:db8::7');
    await (await rl.reserve('login_ip', ip)).failed();
    const err = await rejection(
      reserveAll(rl, [
        ['mfa_verify', 'u'],
        ['login_ip', ip],
      ]),
    );
    expect(retryAfter(err)).toBeGreaterThanOrEqual(599);
    // The user's point taken before the IP refused was given back.
    expect((await rl.peek('mfa_verify', 'u')).consumed).toBe(0);
    const both: Reservation = await reserveAll(rl, [
      ['mfa_verify', 'u'],
      ['login_ip', clientKey('2001:db8:0:1::7')],
    ]);
    await both.failed();
    expect((await rl.peek('mfa_verify', 'u')).consumed).toBe(1);
    expect((await rl.peek('login_ip', clientKey('2001:db8:0:1::8'))).blocked).toBe(true);
  });
});

describe('createLoginGuard (memory, default limits)', () => {
  const { login_ip: ipSpec, login_account_ip: pairSpec, login_account: accountSpec } = DEFAULTS;

  type Guard = ReturnType<typeof createLoginGuard>;
  const at = (account: string, ip: string) => ({ account, ip: clientKey(ip) });

  async function failFrom(guard: Guard, account: string, ip: string) {
    await (await guard.reserve(at(account, ip))).failed();
  }

  /** An attempt that is let through; nothing was checked, so nothing stays counted. */
  async function allowed(guard: Guard, account: string, ip: string) {
    await (await guard.reserve(at(account, ip))).release();
  }

  function refused(guard: Guard, account: string, ip: string) {
    return rejection(guard.reserve(at(account, ip)));
  }

  it('(b) blocks an (account, IP) pair after a few failures; the owner still logs in elsewhere', async () => {
    const guard = createLoginGuard(createRateLimiter({ specs: DEFAULTS }));
    for (let i = 0; i < pairSpec.points; i++)
      await failFrom(guard, 'x@example.com', '198.51.100.1');
    const err = await refused(guard, 'x@example.com', '198.51.100.1');
    expect(retryAfter(err)).toBeGreaterThanOrEqual(pairSpec.blockSec - 1);
    await (await guard.reserve(at('x@example.com', '203.0.113.9'))).succeeded();
    // The same IP may still try other accounts.
    await allowed(guard, 'y@example.com', '198.51.100.1');
  });

  it('(b) right passwords beyond the pair allowance in one burst are told to retry in a second', async () => {
    const guard = createLoginGuard(createRateLimiter({ specs: DEFAULTS }));
    const held = await Promise.all(
      Array.from({ length: pairSpec.points }, () =>
        guard.reserve(at('z@example.com', '192.0.2.1')),
      ),
    );
    expect(retryAfter(await refused(guard, 'z@example.com', '192.0.2.1'))).toBe(1);
    await held[0]!.succeeded();
    await (await guard.reserve(at('z@example.com', '192.0.2.1'))).succeeded();
    await Promise.all(held.slice(1).map((r) => r.release()));
  });

  it('(b) a burst refused by attempts in flight still names the block of another counter', async () => {
    // The account is locked from elsewhere; this IP's pair also has attempts in flight: the
    // answer is the account's block, the longest wait that applies, not the second.
    const guard = createLoginGuard(createRateLimiter({ specs: DEFAULTS }));
    const held = await Promise.all(
      Array.from({ length: pairSpec.points }, () =>
        guard.reserve(at('q@example.com', '192.0.2.2')),
      ),
    );
    // The account's points held in flight count toward its limit: failures fill the rest.
    for (let n = 0; n < (accountSpec.points - pairSpec.points) / pairSpec.points; n++) {
      for (let i = 0; i < pairSpec.points; i++)
        await failFrom(guard, 'q@example.com', `10.2.0.${n}`);
    }
    const err = await refused(guard, 'q@example.com', '192.0.2.2');
    expect(retryAfter(err)).toBeGreaterThanOrEqual(accountSpec.blockSec - 1);
    await Promise.all(held.map((r) => r.release()));
  });

  it('(a) blocks an IP that fails on many accounts, even for accounts it never tried', async () => {
    const guard = createLoginGuard(createRateLimiter({ specs: DEFAULTS }));
    for (let i = 0; i < ipSpec.points; i++) await failFrom(guard, `u${i}@example.com`, '192.0.2.7');
    await refused(guard, 'fresh@example.com', '192.0.2.7');
    await allowed(guard, 'fresh@example.com', '192.0.2.8');
  });

  it('(c) failures from 4 IPs lock the account for every IP; 3 IPs do not', async () => {
    const limiter = createRateLimiter({ specs: DEFAULTS });
    const guard = createLoginGuard(limiter);
    const ipsNeeded = Math.ceil(accountSpec.points / pairSpec.points);
    expect(ipsNeeded).toBe(4);
    for (let n = 0; n < ipsNeeded - 1; n++) {
      for (let i = 0; i < pairSpec.points; i++)
        await failFrom(guard, 'v@example.com', `10.1.0.${n}`);
    }
    await allowed(guard, 'v@example.com', '10.9.9.9');
    for (let i = 0; i < pairSpec.points; i++) await failFrom(guard, 'v@example.com', '10.1.0.99');
    const err = await refused(guard, 'v@example.com', '10.9.9.9');
    expect(retryAfter(err)).toBeGreaterThanOrEqual(accountSpec.blockSec - 1);
    // Unknown and known emails are the same to the guard: only the string matters.
    await allowed(guard, 'w@example.com', '10.9.9.9');
  });

  it('(c) a single IP never locks the account, over many block cycles or in parallel', async () => {
    const guard = createLoginGuard(createRateLimiter({ specs: DEFAULTS }));
    const victim = { account: 'owner@example.com', ip: '203.0.113.50' };
    // The attacker spends its whole pair allowance as fast as possible, waits out each block
    // and starts again, for several account windows.
    for (let cycle = 0; cycle < 8; cycle++) {
      for (let i = 0; i < pairSpec.points; i++) {
        await failFrom(guard, victim.account, '198.51.100.66');
      }
      await refused(guard, victim.account, '198.51.100.66');
      await allowed(guard, victim.account, victim.ip);
      vi.advanceTimersByTime(pairSpec.blockSec * 1000 + 1);
    }
    // Many attempts at once from one IP: only the pair's allowance gets through to be counted.
    const burst = await Promise.allSettled(
      Array.from({ length: 40 }, () =>
        guard.reserve(at(victim.account, '198.51.100.77')).then((r) => r.failed()),
      ),
    );
    expect(burst.filter((r) => r.status === 'fulfilled')).toHaveLength(pairSpec.points);
    await allowed(guard, victim.account, victim.ip);
  });

  it('(c) a single IP never locks the account at the tightest allowed limits, whatever its timing', async () => {
    // account = 2 × pair, the smallest the invariant accepts, and an account window shorter than
    // the pair window so the two drift apart. Worst schedule: one failure (opens both windows),
    // the rest of the pair allowance after the account window has rolled over but just before
    // the pair window ends, then a full new pair allowance. Then a pseudo-random schedule.
    const pair = { points: 3, durationSec: 60, blockSec: 60 };
    const specs = specsWith({
      login_account_ip: pair,
      login_account: { points: 6, durationSec: 30, blockSec: 30 },
    });
    const limiter = createRateLimiter({ specs });
    const guard = createLoginGuard(limiter);
    const account = 'tight@example.com';
    const attack = async () => {
      // Refused attempts are part of the attack too: they must not count either.
      await failFrom(guard, account, '198.51.100.5').catch((err: AppError) => {
        expect(err.code).toBe('rate_limited');
      });
      await allowed(guard, account, '203.0.113.1');
    };
    await attack();
    vi.advanceTimersByTime(pair.durationSec * 1000 - 1);
    for (let i = 0; i < pair.points - 2; i++) await attack();
    vi.advanceTimersByTime(2);
    for (let i = 0; i < 2 * pair.points; i++) await attack();
    expect((await limiter.peek('login_account', account)).consumed).toBe(2 * pair.points - 2);

    let seed = 42;
    for (let step = 0; step < 3000; step++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      await attack();
      vi.advanceTimersByTime((seed % 20_000) + 1);
    }
  });

  it('(d) a locked account unlocks by time', async () => {
    const guard = createLoginGuard(createRateLimiter({ specs: DEFAULTS }));
    for (let n = 0; n < 4; n++) {
      for (let i = 0; i < pairSpec.points; i++)
        await failFrom(guard, 'l@example.com', `10.2.0.${n}`);
    }
    await refused(guard, 'l@example.com', '10.3.0.1');
    vi.advanceTimersByTime((accountSpec.blockSec - 5) * 1000);
    await refused(guard, 'l@example.com', '10.3.0.1');
    vi.advanceTimersByTime(6_000);
    await allowed(guard, 'l@example.com', '10.3.0.1');
  });

  it('(e) success resets the pair counter', async () => {
    const guard = createLoginGuard(createRateLimiter({ specs: DEFAULTS }));
    const a = at('e@example.com', '10.4.0.1');
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < pairSpec.points - 1; i++) await failFrom(guard, a.account, a.ip);
      await (await guard.reserve(a)).succeeded();
    }
    for (let i = 0; i < pairSpec.points; i++) await failFrom(guard, a.account, a.ip);
    await refused(guard, a.account, a.ip);
  });

  it('does not confuse pairs whose parts contain separators', async () => {
    const guard = createLoginGuard(createRateLimiter({ specs: DEFAULTS }));
    for (let i = 0; i < pairSpec.points; i++) await failFrom(guard, 'a:b', 'c');
    await refused(guard, 'a:b', 'c');
    await allowed(guard, 'a', 'b:c');
  });

  it('an IP whose pair is blocked leaves the account counter alone, even in parallel', async () => {
    const limiter = createRateLimiter({ specs: DEFAULTS });
    const guard = createLoginGuard(limiter);
    const account = 'p@example.com';
    for (let i = 0; i < pairSpec.points; i++) await failFrom(guard, account, '198.51.100.8');
    const burst = await Promise.allSettled(
      Array.from({ length: 100 }, () => guard.reserve(at(account, '198.51.100.8'))),
    );
    expect(burst.every((r) => r.status === 'rejected')).toBe(true);
    expect((await limiter.peek('login_account', account)).consumed).toBe(pairSpec.points);
  });

  it('IPv6 addresses of one /64 are one client to the pair and IP counters', async () => {
    const guard = createLoginGuard(createRateLimiter({ specs: DEFAULTS }));
    for (let i = 0; i < pairSpec.points; i++) {
      await failFrom(guard, 'six@example.com', `2001:db8:5:6::${i + 1}`);
    }
    await refused(guard, 'six@example.com', '2001:db8:5:6:ffff::1');
    await allowed(guard, 'six@example.com', '2001:db8:5:7::1');
  });

  it('a success gives back its own account point, not the failures', async () => {
    const limiter = createRateLimiter({ specs: DEFAULTS });
    const guard = createLoginGuard(limiter);
    const account = 'q@example.com';
    for (let i = 0; i < 3; i++) await failFrom(guard, account, '198.51.100.9');
    await (await guard.reserve(at(account, '203.0.113.2'))).succeeded();
    expect((await limiter.peek('login_account', account)).consumed).toBe(3);
    expect((await limiter.peek('login_ip', clientKey('203.0.113.2'))).consumed).toBe(0);
  });
});

describe('parseLimitOverrides', () => {
  it('returns the defaults without overrides and treats empty values as unset', () => {
    const specs = parseLimitOverrides({ RATE_LIMIT_LOGIN_IP: '  ' });
    for (const name of LIMIT_NAMES) {
      const { points, durationSec, blockSec } = LIMIT_DEFAULTS[name];
      expect(specs[name]).toEqual({ points, durationSec, blockSec });
    }
  });

  it('accepts POINTS/SECONDS and blocks for the window', () => {
    const specs = parseLimitOverrides({ RATE_LIMIT_MFA_VERIFY: '10/60' });
    expect(specs.mfa_verify).toEqual({ points: 10, durationSec: 60, blockSec: 60 });
    expect(specs.login_ip).toEqual(DEFAULTS.login_ip);
  });

  it.each(['ten', '10/', '0/60', '10/0', '/60', '-1/60', '1.5/60', '10/60/5', '10/99999999'])(
    'rejects %j naming the variable',
    (value) => {
      expect(() => parseLimitOverrides({ RATE_LIMIT_REFRESH_IP: value })).toThrow(
        /RATE_LIMIT_REFRESH_IP/,
      );
    },
  );

  it('refuses settings that would let one IP lock an account', () => {
    expect(() =>
      parseLimitOverrides({
        RATE_LIMIT_LOGIN_ACCOUNT: '9/900',
        RATE_LIMIT_LOGIN_ACCOUNT_IP: '5/900',
      }),
    ).toThrow(/RATE_LIMIT_LOGIN_ACCOUNT\b.*RATE_LIMIT_LOGIN_ACCOUNT_IP/);
    const ok = parseLimitOverrides({
      RATE_LIMIT_LOGIN_ACCOUNT: '10/900',
      RATE_LIMIT_LOGIN_ACCOUNT_IP: '5/900',
    });
    expect(ok.login_account.points).toBe(10);
    expect(() => parseLimitOverrides({ RATE_LIMIT_LOGIN_ACCOUNT: '20/3600' })).toThrow(/window/);
    expect(() =>
      createLoginGuard(
        createRateLimiter({
          specs: specsWith({ login_account: { points: 3, durationSec: 900, blockSec: 900 } }),
        }),
      ),
    ).toThrow(/single IP/);
    expect(() => assertLoginInvariants(DEFAULTS)).not.toThrow();
  });
});
