import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AppError } from '../http/errors.ts';
import {
  assertLoginInvariants,
  createLoginGuard,
  createRateLimiter,
  LIMIT_DEFAULTS,
  LIMIT_NAMES,
  type LimitName,
  type LimitSpec,
  parseLimitOverrides,
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
    for (let i = 0; i < 3; i++) await rl.consume('register_ip', '10.0.0.1');
    const err = await rejection(rl.consume('register_ip', '10.0.0.1'));
    const seconds = retryAfter(err);
    expect(seconds).toBeGreaterThanOrEqual(119);
    expect(seconds).toBeLessThanOrEqual(120);
    expect(err.message).toContain(`${seconds} seconds`);
    // Another key is unaffected.
    await rl.consume('register_ip', '10.0.0.2');
  });

  it('Retry-After tracks the remaining block and the block ends by time', async () => {
    const rl = createRateLimiter({
      specs: specsWith({ register_ip: { points: 1, durationSec: 60, blockSec: 100 } }),
    });
    await rl.consume('register_ip', 'k');
    await rejection(rl.consume('register_ip', 'k'));
    vi.advanceTimersByTime(40_000);
    const seconds = retryAfter(await rejection(rl.check('register_ip', 'k')));
    expect(seconds).toBeGreaterThanOrEqual(59);
    expect(seconds).toBeLessThanOrEqual(60);
    vi.advanceTimersByTime(60_001);
    await rl.check('register_ip', 'k');
    await rl.consume('register_ip', 'k');
  });

  it('check never counts, and refuses once the allowance is used up', async () => {
    const rl = createRateLimiter({
      specs: specsWith({ email_resend: { points: 2, durationSec: 60, blockSec: 60 } }),
    });
    for (let i = 0; i < 10; i++) await rl.check('email_resend', 'u1');
    await rl.consume('email_resend', 'u1');
    await rl.check('email_resend', 'u1');
    await rl.consume('email_resend', 'u1');
    const seconds = retryAfter(await rejection(rl.check('email_resend', 'u1')));
    expect(seconds).toBeLessThanOrEqual(60);
  });

  it('penalize blocks for blockSec when the failures reach points; reset clears', async () => {
    const rl = createRateLimiter({
      specs: specsWith({ mfa_verify: { points: 3, durationSec: 30, blockSec: 300 } }),
    });
    expect((await rl.penalize('mfa_verify', 'user-1')).blocked).toBe(false);
    expect((await rl.penalize('mfa_verify', 'user-1')).blocked).toBe(false);
    await rl.check('mfa_verify', 'user-1');
    const third = await rl.penalize('mfa_verify', 'user-1');
    expect(third).toMatchObject({ consumed: 3, remaining: 0, blocked: true, retryAfterSec: 300 });
    const seconds = retryAfter(await rejection(rl.check('mfa_verify', 'user-1')));
    expect(seconds).toBeGreaterThanOrEqual(299);
    // The block outlives the 30 s window.
    vi.advanceTimersByTime(200_000);
    await rejection(rl.check('mfa_verify', 'user-1'));
    await rl.reset('mfa_verify', 'user-1');
    await rl.check('mfa_verify', 'user-1');
    expect((await rl.peek('mfa_verify', 'user-1')).consumed).toBe(0);
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
    await rl.consume('password_forgot_ip', odd);
    await rl.consume('password_forgot_account', `${odd}x`);
  });
});

describe('createLoginGuard (memory, default limits)', () => {
  const { login_ip: ipSpec, login_account_ip: pairSpec, login_account: accountSpec } = DEFAULTS;

  async function failFrom(guard: ReturnType<typeof createLoginGuard>, account: string, ip: string) {
    await guard.beforeAttempt({ account, ip });
    await guard.onFailure({ account, ip });
  }

  it('(b) blocks an (account, IP) pair after a few failures; the owner still logs in elsewhere', async () => {
    const guard = createLoginGuard(createRateLimiter({ specs: DEFAULTS }));
    for (let i = 0; i < pairSpec.points; i++)
      await failFrom(guard, 'x@example.com', '198.51.100.1');
    const err = await rejection(
      guard.beforeAttempt({ account: 'x@example.com', ip: '198.51.100.1' }),
    );
    expect(retryAfter(err)).toBeGreaterThanOrEqual(pairSpec.blockSec - 1);
    await guard.beforeAttempt({ account: 'x@example.com', ip: '203.0.113.9' });
    await guard.onSuccess({ account: 'x@example.com', ip: '203.0.113.9' });
    // The same IP may still try other accounts.
    await guard.beforeAttempt({ account: 'y@example.com', ip: '198.51.100.1' });
  });

  it('(a) blocks an IP that fails on many accounts, even for accounts it never tried', async () => {
    const guard = createLoginGuard(createRateLimiter({ specs: DEFAULTS }));
    for (let i = 0; i < ipSpec.points; i++) await failFrom(guard, `u${i}@example.com`, '192.0.2.7');
    await rejection(guard.beforeAttempt({ account: 'fresh@example.com', ip: '192.0.2.7' }));
    await guard.beforeAttempt({ account: 'fresh@example.com', ip: '192.0.2.8' });
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
    await guard.beforeAttempt({ account: 'v@example.com', ip: '10.9.9.9' });
    for (let i = 0; i < pairSpec.points; i++) await failFrom(guard, 'v@example.com', '10.1.0.99');
    const err = await rejection(guard.beforeAttempt({ account: 'v@example.com', ip: '10.9.9.9' }));
    expect(retryAfter(err)).toBeGreaterThanOrEqual(accountSpec.blockSec - 1);
    // Unknown and known emails are the same to the guard: only the string matters.
    await guard.beforeAttempt({ account: 'w@example.com', ip: '10.9.9.9' });
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
      await rejection(guard.beforeAttempt({ account: victim.account, ip: '198.51.100.66' }));
      await guard.beforeAttempt(victim);
      vi.advanceTimersByTime(pairSpec.blockSec * 1000 + 1);
    }
    // Many failures in flight at once (all past beforeAttempt) still count as one allowance.
    await Promise.all(
      Array.from({ length: 40 }, () =>
        guard.onFailure({ account: victim.account, ip: '198.51.100.77' }),
      ),
    );
    await guard.beforeAttempt(victim);
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
      await guard.onFailure({ account, ip: '198.51.100.5' });
      await guard.beforeAttempt({ account, ip: '203.0.113.1' });
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
    await rejection(guard.beforeAttempt({ account: 'l@example.com', ip: '10.3.0.1' }));
    vi.advanceTimersByTime((accountSpec.blockSec - 5) * 1000);
    await rejection(guard.beforeAttempt({ account: 'l@example.com', ip: '10.3.0.1' }));
    vi.advanceTimersByTime(6_000);
    await guard.beforeAttempt({ account: 'l@example.com', ip: '10.3.0.1' });
  });

  it('(e) success resets the pair counter', async () => {
    const guard = createLoginGuard(createRateLimiter({ specs: DEFAULTS }));
    const a = { account: 'e@example.com', ip: '10.4.0.1' };
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < pairSpec.points - 1; i++) await failFrom(guard, a.account, a.ip);
      await guard.beforeAttempt(a);
      await guard.onSuccess(a);
    }
    for (let i = 0; i < pairSpec.points; i++) await failFrom(guard, a.account, a.ip);
    await rejection(guard.beforeAttempt(a));
  });

  it('does not confuse pairs whose parts contain separators', async () => {
    const guard = createLoginGuard(createRateLimiter({ specs: DEFAULTS }));
    for (let i = 0; i < pairSpec.points; i++) await failFrom(guard, 'a:b', 'c');
    await rejection(guard.beforeAttempt({ account: 'a:b', ip: 'c' }));
    await guard.beforeAttempt({ account: 'a', ip: 'b:c' });
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
