// Rate limits and brute-force defence. Counters live in memory (one instance) or, with REDIS_URL,
// in Redis so that limits hold across every instance behind a load balancer. A Redis outage must
// not turn into an outage of login: each Redis limiter falls back to a per-instance memory limiter.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible';
import { AppError } from '../http/errors.ts';
import type { ClientKey } from './client-key.ts';

/**
 * Every named limit, its default and the variable that overrides it (`POINTS/SECONDS`; the block
 * lasts as long as the window). "Failures" limits are fed by `reserve` (a point is taken before
 * the secret is checked and given back when the guess was right, so only wrong guesses stay
 * counted), "requests" limits by `consume` (every call counts).
 */
// biome-ignore format: the limits read as a table, one limit a line
export const LIMIT_DEFAULTS = {
  // Failed logins from one IP across all accounts: password spraying from one address. High enough
  // for an office or carrier NAT full of users who mistype.
  login_ip: { points: 50, durationSec: 900, blockSec: 900, env: 'RATE_LIMIT_LOGIN_IP' },
  // Failed logins for one account from one IP: online guessing of one password. Reset on success.
  login_account_ip: { points: 5, durationSec: 900, blockSec: 900, env: 'RATE_LIMIT_LOGIN_ACCOUNT_IP' },
  // Failed logins for one account from every IP, counted only while their (account, IP) pair was
  // not blocked: distributed guessing (botnets). At least twice login_account_ip, window no longer
  // than its window, so that one IP alone can never lock the owner out (assertLoginInvariants).
  login_account: { points: 20, durationSec: 900, blockSec: 900, env: 'RATE_LIMIT_LOGIN_ACCOUNT' },
  // Wrong MFA codes (TOTP or backup) per user: 5 guesses per 5 minutes leaves a 6-digit TOTP code
  // out of reach (~1 in 70,000 per window, with ±1 step tolerance).
  mfa_verify: { points: 5, durationSec: 300, blockSec: 300, env: 'RATE_LIMIT_MFA_VERIFY' },
  // Forgot-password requests per IP: mail bombing of many inboxes and probing from one address.
  password_forgot_ip: { points: 10, durationSec: 3600, blockSec: 3600, env: 'RATE_LIMIT_PASSWORD_FORGOT_IP' },
  // Forgot-password requests per email (known or not, same answer): mail bombing of one inbox.
  password_forgot_account: { points: 3, durationSec: 3600, blockSec: 3600, env: 'RATE_LIMIT_PASSWORD_FORGOT_ACCOUNT' },
  // Reset attempts per IP: tokens cannot be guessed, but each attempt may cost a password hash.
  password_reset_ip: { points: 10, durationSec: 900, blockSec: 900, env: 'RATE_LIMIT_PASSWORD_RESET_IP' },
  // Refresh calls per IP: bounds token-guessing and DB load; a NAT with many tabs stays well below.
  refresh_ip: { points: 60, durationSec: 60, blockSec: 60, env: 'RATE_LIMIT_REFRESH_IP' },
  // Verification-mail resends per user: mail bombing and SMTP reputation.
  email_resend: { points: 3, durationSec: 900, blockSec: 900, env: 'RATE_LIMIT_EMAIL_RESEND' },
  // Accounts created by sign-up per IP: mass account creation (each costs a password hash, a
  // mail and a tenant). Only accounts created count (see reserveSignUp).
  register_ip: { points: 10, durationSec: 3600, blockSec: 3600, env: 'RATE_LIMIT_REGISTER_IP' },
  // Refused sign-ups per IP (a weak password, a taken or invalid address): looser, so a newcomer
  // trying passwords against the rules is not locked out, yet a script cycling through refusals
  // (each may cost a password hash) still stops.
  register_refused_ip: { points: 50, durationSec: 3600, blockSec: 3600, env: 'RATE_LIMIT_REGISTER_REFUSED_IP' },
  // Orgs created per user: each is a tenant with its own rows and audit trail; a script (or a
  // stolen session) cannot mint thousands. Generous for people who run several companies.
  org_create: { points: 20, durationSec: 86_400, blockSec: 86_400, env: 'RATE_LIMIT_ORG_CREATE' },
  // Admin-created users per acting person: anyone can found an org and so be an owner; each
  // creation mails an address of their choosing (mail bombing, SMTP reputation).
  user_create_actor: { points: 30, durationSec: 3600, blockSec: 3600, env: 'RATE_LIMIT_USER_CREATE_ACTOR' },
  // Accounts added to one org: admin-created users, and accounts its invitations create (or claim)
  // when accepted (reserveInvitationAcceptance). Bounds what many admins (or orgs' keys) of one
  // tenant can do, and what one org's invitations can mint.
  user_create_org: { points: 200, durationSec: 86_400, blockSec: 86_400, env: 'RATE_LIMIT_USER_CREATE_ORG' },
  // Invitations sent per acting person: each mails an address of the inviter's choosing, and
  // anyone can found an org and so be its owner (mail bombing, SMTP reputation). Looser than
  // user_create_actor: an invitation creates no account.
  invite_actor: { points: 100, durationSec: 3600, blockSec: 3600, env: 'RATE_LIMIT_INVITE_ACTOR' },
  // Invitations of one address into one org (each replaces the last and mails it again), and
  // admin-created users of it (an address with an account is mailed an invitation): the same
  // address cannot be mailed over and over, while invitations of it by other orgs stay its own.
  invite_address: { points: 5, durationSec: 3600, blockSec: 3600, env: 'RATE_LIMIT_INVITE_ADDRESS' },
  // Device-socket tickets minted per caller (a person, or an API key): each is a stored row that
  // lives a minute, so a script or a stolen session could otherwise grow the table at request
  // rate. A browser mints one per socket it opens (or reopens after a drop): far below this.
  realtime_ticket: { points: 60, durationSec: 60, blockSec: 60, env: 'RATE_LIMIT_REALTIME_TICKET' },
  // Requests per API key: a leaked or runaway key cannot flood the service.
  api_key: { points: 600, durationSec: 60, blockSec: 60, env: 'RATE_LIMIT_API_KEY' },
} as const satisfies Record<string, LimitSpec & { env: string }>;

export type LimitName = keyof typeof LIMIT_DEFAULTS;
export const LIMIT_NAMES = Object.keys(LIMIT_DEFAULTS) as LimitName[];

export interface LimitSpec {
  /** Attempts allowed per window; the key is blocked once they are used up. */
  points: number;
  durationSec: number;
  blockSec: number;
}

/**
 * The memory store expires keys with setTimeout, which fires at once for delays above 2^31-1 ms
 * (~24.8 days): a longer window would silently disable the limit.
 */
const MAX_SECONDS = 24 * 24 * 3600;
const MAX_POINTS = 1_000_000_000;
/** How far above its limit a blocked counter is set: more than any burst of give-backs. */
const BLOCK_MARGIN = 1_000_000_000;
/**
 * A reserved counter that is full but not blocked holds attempts whose secrets are still being
 * checked: the last point's verdict decides (given back on success, a block on failure) within a
 * request's time. So the refused client is told to retry in this many seconds, not at the end of
 * the window: that would send away, for up to the whole window, an owner whose right password
 * arrived in the same burst. The counting is unchanged; only the advice is.
 */
const IN_FLIGHT_RETRY_SEC = 1;

/** A reserved counter a failure has blocked (give-backs since then stay far above the limit). */
const reservedBlocked = (consumed: number) => consumed > BLOCK_MARGIN;

/** Reads every RATE_LIMIT_* override; a malformed value is an error naming the variable. */
export function parseLimitOverrides(
  env: Record<string, string | undefined>,
): Record<LimitName, LimitSpec> {
  const problems: string[] = [];
  const specs = readLimitOverrides(env, (message) => problems.push(message));
  if (problems.length > 0) throw new Error(problems[0]);
  assertLoginInvariants(specs);
  return specs;
}

/**
 * Reads every RATE_LIMIT_* override, reporting each malformed one to `problem` (which keeps its
 * default) so that configuration can list them all. The login invariants are not checked here.
 */
export function readLimitOverrides(
  env: Record<string, string | undefined>,
  problem: (message: string) => void,
): Record<LimitName, LimitSpec> {
  const specs = {} as Record<LimitName, LimitSpec>;
  for (const name of LIMIT_NAMES) {
    const def = LIMIT_DEFAULTS[name];
    specs[name] = { points: def.points, durationSec: def.durationSec, blockSec: def.blockSec };
    // An empty value counts as unset, as everywhere else in the configuration.
    const raw = env[def.env]?.trim();
    if (!raw) continue;
    const m = /^(\d+)\/(\d+)$/.exec(raw);
    const points = Number(m?.[1]);
    const seconds = Number(m?.[2]);
    if (!m || points < 1 || points > MAX_POINTS || seconds < 1 || seconds > MAX_SECONDS) {
      problem(
        `${def.env} must be POINTS/SECONDS with POINTS between 1 and ${MAX_POINTS} and SECONDS ` +
          `between 1 and ${MAX_SECONDS}, e.g. ${def.points}/${def.durationSec} (got "${raw}")`,
      );
      continue;
    }
    specs[name] = { points, durationSec: seconds, blockSec: seconds };
  }
  return specs;
}

/**
 * The promise that one IP can never lock an account. Pair windows are fixed (they start at the
 * first failure) and failures of a blocked pair are not counted, so with an account window no
 * longer than the pair's window and block, one account window overlaps the counted failures of at
 * most two pair windows: `points - 1` at the end of one (it never reached the block) plus
 * `points` at the start of the next. The account threshold must stay above that.
 */
export function loginInvariantProblems(specs: Record<LimitName, LimitSpec>): string[] {
  const pair = specs.login_account_ip;
  const account = specs.login_account;
  const names = `${LIMIT_DEFAULTS.login_account.env} and ${LIMIT_DEFAULTS.login_account_ip.env}`;
  const problems: string[] = [];
  const onePairMax = 2 * pair.points - 1;
  if (account.points <= onePairMax) {
    problems.push(
      `${names}: the account limit (${account.points}) must be at least twice the account+IP ` +
        `limit (${pair.points}), or a single IP could lock an account`,
    );
  }
  if (account.durationSec > Math.min(pair.durationSec, pair.blockSec)) {
    problems.push(
      `${names}: the account window (${account.durationSec} s) must not be longer than the ` +
        `account+IP window and block, or a single IP could lock an account`,
    );
  }
  return problems;
}

/** Throws the first broken login invariant (see `loginInvariantProblems`). */
export function assertLoginInvariants(specs: Record<LimitName, LimitSpec>): void {
  const [problem] = loginInvariantProblems(specs);
  if (problem !== undefined) throw new Error(problem);
}

export interface LimitState {
  /** Attempts counted in the current window (may exceed points once blocked). */
  consumed: number;
  remaining: number;
  blocked: boolean;
  /** Seconds until the window or block ends; 0 when there is nothing to wait for. */
  retryAfterSec: number;
}

/**
 * Limits counted per client address (`*_ip`, except the (account, IP) pair whose key the login
 * guard composes): their key must come from `clientKey`, so an IPv6 host counts as its /64.
 */
export type PerClientLimit = Exclude<Extract<LimitName, `${string}_ip`>, 'login_account_ip'>;
export type LimitKey<N extends LimitName> = N extends PerClientLimit ? ClientKey : string;

/**
 * One attempt at a secret, counted before the secret is checked. Exactly one of the three ends it
 * (later calls do nothing). One never ended keeps its point until the window ends, as a failure
 * would, but starts no block: an error between the check and the verdict is not a free guess.
 */
export interface Reservation {
  /** The secret was right: the point is given back. */
  succeeded(): Promise<void>;
  /** The secret was wrong: the point stays; the one that used up the allowance starts the block. */
  failed(): Promise<void>;
  /** No secret was checked after all (refused by another limit, nothing to check): given back. */
  release(): Promise<void>;
}

export interface RateLimiter {
  readonly specs: Readonly<Record<LimitName, LimitSpec>>;
  /** Counts one request; throws `rate_limited` when the limit is exceeded. */
  consume<N extends LimitName>(name: N, key: LimitKey<N>): Promise<void>;
  /**
   * Takes one point atomically before a secret is checked, or throws `rate_limited`. However many
   * attempts run at once, in this process or on any instance sharing the store, at most `points`
   * of them are let through per window: the count is never read first and written later.
   */
  reserve<N extends LimitName>(name: N, key: LimitKey<N>): Promise<Reservation>;
  /** Forgets the key (e.g. after a success). */
  reset<N extends LimitName>(name: N, key: LimitKey<N>): Promise<void>;
  /** Current count, for reporting only: a decision taken on it races with concurrent attempts. */
  peek<N extends LimitName>(name: N, key: LimitKey<N>): Promise<LimitState>;
}

function secondsFrom(ms: number, fallbackSec: number): number {
  // A key without expiry should not exist; never tell a client to retry after 0 or -1 s.
  return ms > 0 ? Math.max(1, Math.ceil(ms / 1000)) : fallbackSec;
}

export function rateLimitedError(seconds: number): AppError {
  return new AppError(
    'rate_limited',
    `Too many attempts. Try again in ${seconds} second${seconds === 1 ? '' : 's'}.`,
    { headers: { 'retry-after': String(seconds) }, retry_after: seconds },
  );
}

/**
 * Keys are hashed before they reach any store: emails and IPs may contain anything (Redis key
 * separators, huge strings), and a dump of Redis or of the heap should not list who was targeted.
 */
function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('base64url');
}

export function createRateLimiter(opts: {
  specs: Record<LimitName, LimitSpec>;
  redis?: Redis;
  keyPrefix?: string;
}): RateLimiter {
  const prefix = opts.keyPrefix ?? 'sb:rl';
  const specs = Object.freeze({ ...opts.specs });
  const limiters = {} as Record<LimitName, RateLimiterAbstract>;
  for (const name of LIMIT_NAMES) {
    const spec = specs[name];
    const base = {
      keyPrefix: `${prefix}:${name}`,
      points: spec.points,
      duration: spec.durationSec,
      blockDuration: spec.blockSec,
    };
    const memory = new RateLimiterMemory(base);
    limiters[name] = opts.redis
      ? new RateLimiterRedis({
          ...base,
          storeClient: opts.redis,
          // With Redis down, fail over to per-instance counting at once instead of waiting on it.
          rejectIfRedisNotReady: true,
          insuranceLimiter: memory,
        })
      : memory;
  }

  const stateOf = (name: LimitName, res: RateLimiterRes | null): LimitState => {
    const spec = specs[name];
    if (!res) return { consumed: 0, remaining: spec.points, blocked: false, retryAfterSec: 0 };
    const blocked = res.consumedPoints >= spec.points;
    return {
      consumed: res.consumedPoints,
      remaining: Math.max(spec.points - res.consumedPoints, 0),
      blocked,
      retryAfterSec: secondsFrom(res.msBeforeNext, blocked ? spec.blockSec : spec.durationSec),
    };
  };

  // rate-limiter-flexible rejects with a RateLimiterRes when over the limit; anything else is a
  // store failure the insurance limiter could not absorb, and must not be mistaken for a block.
  const asRes = (err: unknown): RateLimiterRes => {
    if (err instanceof RateLimiterRes) return err;
    throw err;
  };

  const peek = async (name: LimitName, key: string) =>
    stateOf(name, await limiters[name].get(hashKey(key)));

  // Returns a reserved point. `reward` on a key whose window ended while the attempt was in flight
  // creates it below zero, which would be a free attempt in the next window: lift it back to zero.
  const giveBack = async (limiter: RateLimiterAbstract, hashed: string) => {
    const res = await limiter.reward(hashed, 1);
    if (res.consumedPoints < 0) await limiter.penalty(hashed, -res.consumedPoints);
  };

  return {
    specs,
    async consume(name, key) {
      try {
        await limiters[name].consume(hashKey(key));
      } catch (err) {
        const res = asRes(err);
        throw rateLimitedError(secondsFrom(res.msBeforeNext, specs[name].blockSec));
      }
    },
    async reserve(name, key) {
      const spec = specs[name];
      const hashed = hashKey(key);
      const limiter = limiters[name];
      // One atomic increment (a Lua script on Redis) decides: the counter already holds every
      // attempt in flight, so parallel attempts cannot all see room. `penalty` never blocks by
      // itself, so a refused attempt changes neither the count nor the window once given back.
      const res = await limiter.penalty(hashed, 1);
      if (res.consumedPoints > spec.points) {
        await giveBack(limiter, hashed);
        const wait = secondsFrom(res.msBeforeNext, spec.blockSec);
        throw rateLimitedError(
          reservedBlocked(res.consumedPoints) ? wait : Math.min(wait, IN_FLIGHT_RETRY_SEC),
        );
      }
      // The attempt holding the last point starts the block if it fails (the library would only
      // block on the attempt after it). Later failures leave the block as it is. The block sets the
      // counter far above the limit, not to `points + 1` as the library's `block` does: attempts
      // refused (or succeeding) while it is set still give their points back afterwards, and each
      // of those would otherwise reopen the block by one more guess.
      const last = res.consumedPoints === spec.points;
      let open = true;
      const end = async (action: () => Promise<unknown>) => {
        if (!open) return;
        open = false;
        await action();
      };
      return {
        succeeded: () => end(() => giveBack(limiter, hashed)),
        release: () => end(() => giveBack(limiter, hashed)),
        failed: () =>
          end(async () => last && limiter.set(hashed, spec.points + BLOCK_MARGIN, spec.blockSec)),
      };
    },
    async reset(name, key) {
      await limiters[name].delete(hashKey(key));
    },
    peek,
  };
}

/** A (limit, key) pair for `reserveAll`. */
export type LimitEntry = { [N in LimitName]: readonly [N, LimitKey<N>] }[LimitName];

/**
 * Reserves one attempt on each limit in order, or none: at the first refusal the points already
 * taken are given back and `rate_limited` carries the longest wait of every limit that is full.
 * Order matters: a later limit is only touched once the earlier ones had room.
 */
export async function reserveAll(
  limiter: RateLimiter,
  entries: readonly LimitEntry[],
): Promise<Reservation> {
  const held = await reserveEach(limiter, entries);
  const all = (pick: (r: Reservation) => Promise<void>) => async () => {
    await Promise.all(held.map(pick));
  };
  return {
    succeeded: all((r) => r.succeeded()),
    failed: all((r) => r.failed()),
    release: all((r) => r.release()),
  };
}

/** `reserveAll`, with each limit's reservation to end on its own. */
async function reserveEach(
  limiter: RateLimiter,
  entries: readonly LimitEntry[],
): Promise<Reservation[]> {
  const held: Reservation[] = [];
  for (const [name, key] of entries) {
    try {
      held.push(await limiter.reserve(name, key));
    } catch (err) {
      await Promise.all(held.map((r) => r.release()));
      if (!(err instanceof AppError) || err.code !== 'rate_limited') throw err;
      // Every entry is a reserved counter: only a block is a wait; one full of attempts in
      // flight is not (see IN_FLIGHT_RETRY_SEC).
      const states = await Promise.all(entries.map(([n, k]) => limiter.peek(n, k)));
      const waits = states.filter((s) => reservedBlocked(s.consumed)).map((s) => s.retryAfterSec);
      throw rateLimitedError(Math.max(Number(err.extras.retry_after) || 1, ...waits));
    }
  }
  return held;
}

/** One sign-up attempt, counted on exactly one of the two sign-up limits once it ends. */
export interface SignUpAttempt {
  /** An account was created: counted on `register_ip` (the last point starts its block). */
  created(): Promise<void>;
  /** The attempt was refused (a 4xx): counted on `register_refused_ip` instead. */
  refused(): Promise<void>;
  /** Nothing was decided (an internal error): counted on neither. */
  release(): Promise<void>;
}

/**
 * Reserves a sign-up from one address on both sign-up limits at once, or throws `rate_limited`
 * with the longer wait: so however many sign-ups run in parallel, at most `register_ip`'s points
 * of them can create accounts and at most `register_refused_ip`'s can be refused per window. When
 * the attempt ends, the point of the limit that does not apply is given back. Reservations keep
 * a point with `failed()`: here that means "this one counts".
 */
export async function reserveSignUp(limiter: RateLimiter, ip: ClientKey): Promise<SignUpAttempt> {
  const [created, refused] = await reserveEach(limiter, [
    ['register_ip', ip],
    ['register_refused_ip', ip],
  ]);
  return {
    created: async () => {
      await Promise.all([created!.failed(), refused!.release()]);
    },
    refused: async () => {
      await Promise.all([refused!.failed(), created!.release()]);
    },
    release: async () => {
      await Promise.all([created!.release(), refused!.release()]);
    },
  };
}

/**
 * An invitation accepted with a password chosen there (a new account, or an unproven one the link
 * proves): an admin asked for that account, so it is no sign-up and spends nothing of the IP's
 * `register_ip` (colleagues behind one office address accept theirs the same hour; with sign-up
 * off, invitations are the only way in). It counts on the org's `user_create_org` instead, as an
 * account an admin creates does: one org's invitations (anyone may found one) cannot mint accounts
 * without bound. A refused attempt counts on the IP's `register_refused_ip`: each costs a password
 * hash, and one link retried with passwords is what that limit bounds.
 */
export async function reserveInvitationAcceptance(
  limiter: RateLimiter,
  ip: ClientKey,
  orgId: string,
): Promise<SignUpAttempt> {
  const [refused, added] = await reserveEach(limiter, [
    ['register_refused_ip', ip],
    ['user_create_org', orgId],
  ]);
  return {
    created: async () => {
      await Promise.all([refused!.release(), added!.failed()]);
    },
    refused: async () => {
      await Promise.all([refused!.failed(), added!.release()]);
    },
    release: async () => {
      await Promise.all([refused!.release(), added!.release()]);
    },
  };
}

export interface LoginAttempt {
  /** Normalised email as typed, whether or not such a user exists. */
  account: string;
  ip: ClientKey;
}

export interface LoginGuard {
  /**
   * Reserves one password attempt on every login counter before any password work, or throws
   * `rate_limited` with the longest wait that applies. `succeeded` also clears the (account, IP)
   * pair's failures.
   */
  reserve(attempt: LoginAttempt): Promise<Reservation>;
}

/**
 * Password-login brute-force defence. The guard never looks the account up: unknown emails are
 * counted and locked exactly like real ones, so its answers reveal nothing about who exists.
 */
export function createLoginGuard(limiter: RateLimiter): LoginGuard {
  assertLoginInvariants(limiter.specs);
  // JSON keeps the pair unambiguous: ("a:b", "c") and ("a", "b:c") must not share a counter.
  const pairKey = ({ account, ip }: LoginAttempt) => JSON.stringify([account, ip]);

  return {
    async reserve(attempt) {
      const pair = pairKey(attempt);
      // The account counter comes last: it is only touched once the pair had room, so one IP
      // feeds it at most the pair's allowance per pair window (assertLoginInvariants), however
      // many attempts it sends at once.
      const reservation = await reserveAll(limiter, [
        ['login_ip', attempt.ip],
        ['login_account_ip', pair],
        ['login_account', attempt.account],
      ]);
      return Object.assign({}, reservation, {
        async succeeded() {
          // The success gives back only its own account point: a login by the owner must not
          // refill an attacker's budget against the same account.
          await reservation.succeeded();
          await limiter.reset('login_account_ip', pair);
        },
      });
    },
  };
}
