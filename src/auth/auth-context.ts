// Everything the auth flows share, built once per app: the signing key ring (reloaded so keys
// rotated by another process are picked up), access tokens, the revocation list, rate limits.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { KEY_RING_RELOAD_SECONDS } from '../crypto/signing-key-timing.ts';
import type { Database } from '../db/database.ts';
import type { Tx } from '../db/tenant.ts';
import { type Background, createBackground } from '../infra/background.ts';
import type { Mailer } from '../mail/mailer.ts';
import {
  createLoginGuard,
  createRateLimiter,
  type LoginGuard,
  type RateLimiter,
} from '../security/rate-limits.ts';
import { type AccessTokens, createAccessTokens } from './access-token.ts';
import { type ApiKeyRevocations, createApiKeyRevocations } from './api-key-revocations.ts';
import { limitHashConcurrency, primeDummyHash } from './password.ts';
import { createRevocationList, type RevocationList } from './revocation.ts';
import {
  ensureSigningKey,
  type KeyClock,
  type KeyRing,
  loadKeyRing,
  type RotationResult,
  rotateSigningKey,
} from './signing-keys.ts';
import { createSuspendedOrgs, type SuspendedOrgs } from './suspended-orgs.ts';

export interface AuthContext {
  config: Readonly<Config>;
  database: Database;
  tokens: AccessTokens;
  revocation: RevocationList;
  /** API keys revoked on this instance, for what they opened that outlasts a request. */
  apiKeyRevocations: ApiKeyRevocations;
  /** Orgs cut off by the kill switch (src/suspension/): their credentials are refused. */
  suspendedOrgs: SuspendedOrgs;
  limiter: RateLimiter;
  loginGuard: LoginGuard;
  mailer?: Mailer;
  logger?: Logger;
  /** Work after a request, off its path (the new-device check after a login). */
  background: Background;
  getKeyRing(): KeyRing;
  /** Re-read signing keys now (after a rotation), at most once per few seconds on demand. */
  reloadKeys(force?: boolean): Promise<void>;
  /** Stage a new signing key (published now, signing after SIGNING_KEY_PUBLISH_DELAY_SECONDS). */
  /** compromised: the new key signs at once and every other key is withdrawn. */
  /** record: the rotation's audit entry, written in its transaction. */
  rotateSigningKey(opts?: {
    compromised?: boolean;
    record?: (tx: Tx, r: RotationResult) => Promise<void>;
  }): Promise<RotationResult>;
  start(): Promise<void>;
  stop(): void;
}

const KEY_RELOAD_MS = KEY_RING_RELOAD_SECONDS * 1000;
const KEY_RELOAD_MIN_GAP_MS = 5_000;

export async function createAuthContext(deps: {
  config: Readonly<Config>;
  database: Database;
  redis?: Redis;
  mailer?: Mailer;
  logger?: Logger;
  background?: Background;
  /** Test-only: the clock signing-key stages are judged by (default: the database's). */
  clock?: KeyClock;
}): Promise<AuthContext> {
  const { config, database, clock } = deps;
  limitHashConcurrency(config.auth.threadPoolSize);
  const ttl = config.auth.accessTokenTtlSeconds;
  await ensureSigningKey(database, config.encryption);
  // A retired key stays published as long as any token it signed can live: access or media token.
  const maxTokenTtlSeconds = Math.max(ttl, config.twilio.streamTokenTtlSeconds);
  const load = () => loadKeyRing(database, config.encryption, { maxTokenTtlSeconds, clock });
  let ring = await load();
  let lastLoad = Date.now();
  let keyTimer: NodeJS.Timeout | undefined;
  let activationTimer: NodeJS.Timeout | undefined;
  let started = false;

  const reloadLogged = () =>
    ctx
      .reloadKeys(true)
      .catch((err) =>
        deps.logger?.warn({ err: { message: err.message } }, 'signing key reload failed'),
      );

  // A staged key starts signing on every instance at its activation time, not up to one reload
  // interval later: reload right then (the reload promotes it).
  function scheduleActivation() {
    if (activationTimer) clearTimeout(activationTimer);
    activationTimer = undefined;
    if (!started || !ring.next) return;
    activationTimer = setTimeout(reloadLogged, Math.min(ring.next.activatesInMs + 50, 2 ** 31 - 1));
    activationTimer.unref();
  }

  const limiter = createRateLimiter({
    specs: { ...config.rateLimits },
    redis: deps.redis,
    keyPrefix: `${config.redisKeyPrefix}:rl`,
  });
  const revocation = createRevocationList({
    database,
    pollMs: config.auth.revocationPollMs,
    retainMs: (ttl + 60) * 1000,
    logger: deps.logger,
  });
  const suspendedOrgs = createSuspendedOrgs({
    database,
    pollMs: config.auth.revocationPollMs,
    catchUp: revocation.poll,
    logger: deps.logger,
  });

  const ctx: AuthContext = {
    config,
    database,
    limiter,
    loginGuard: createLoginGuard(limiter),
    revocation,
    apiKeyRevocations: createApiKeyRevocations(deps.logger),
    suspendedOrgs,
    mailer: deps.mailer,
    logger: deps.logger,
    background: deps.background ?? createBackground({ logger: deps.logger }),
    getKeyRing: () => ring,
    tokens: createAccessTokens({
      getKeyRing: () => ring,
      issuer: config.auth.issuer,
      audience: config.auth.audience,
      ttlSeconds: ttl,
    }),
    async reloadKeys(force = false) {
      if (!force && Date.now() - lastLoad < KEY_RELOAD_MIN_GAP_MS) return;
      lastLoad = Date.now();
      ring = await load();
      scheduleActivation();
    },
    async rotateSigningKey(opts = {}) {
      const result = await rotateSigningKey(database, config.encryption, {
        publishDelaySeconds: config.auth.signingKeyPublishDelaySeconds,
        clock,
        compromised: opts.compromised,
        record: opts.record,
      });
      // Publish the staged key from this instance at once; the others within a reload interval.
      await ctx.reloadKeys(true);
      return result;
    },
    async start() {
      // The dummy hash (for logins of unknown emails) is computed beside the start, not before
      // listening: a login that needs it before it is ready awaits the same computation.
      primeDummyHash(config.auth.argon2).catch((err) =>
        deps.logger?.warn({ err: { message: err.message } }, 'dummy password hash failed'),
      );
      await revocation.start();
      await suspendedOrgs.start();
      started = true;
      keyTimer = setInterval(reloadLogged, KEY_RELOAD_MS);
      keyTimer.unref();
      scheduleActivation();
    },
    stop() {
      started = false;
      revocation.stop();
      suspendedOrgs.stop();
      if (keyTimer) clearInterval(keyTimer);
      if (activationTimer) clearTimeout(activationTimer);
    },
  };
  return ctx;
}
