// Everything the auth flows share, built once per app: the signing key ring (reloaded so keys
// rotated by another process are picked up), access tokens, the revocation list, rate limits.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { Database } from '../db/database.ts';
import type { Mailer } from '../mail/mailer.ts';
import {
  createLoginGuard,
  createRateLimiter,
  type LoginGuard,
  type RateLimiter,
} from '../security/rate-limits.ts';
import { type AccessTokens, createAccessTokens } from './access-token.ts';
import { primeDummyHash } from './password.ts';
import { createRevocationList, type RevocationList } from './revocation.ts';
import { ensureSigningKey, type KeyRing, loadKeyRing } from './signing-keys.ts';

export interface RequestMeta {
  ip: string;
  userAgent: string | null;
  requestId: string;
}

export interface AuthContext {
  config: Readonly<Config>;
  database: Database;
  tokens: AccessTokens;
  revocation: RevocationList;
  limiter: RateLimiter;
  loginGuard: LoginGuard;
  mailer?: Mailer;
  logger?: Logger;
  getKeyRing(): KeyRing;
  /** Re-read signing keys now (after a rotation), at most once per few seconds on demand. */
  reloadKeys(force?: boolean): Promise<void>;
  start(): Promise<void>;
  stop(): void;
}

const KEY_RELOAD_MS = 30_000;
const KEY_RELOAD_MIN_GAP_MS = 5_000;

export async function createAuthContext(deps: {
  config: Readonly<Config>;
  database: Database;
  redis?: Redis;
  mailer?: Mailer;
  logger?: Logger;
}): Promise<AuthContext> {
  const { config, database } = deps;
  const ttl = config.auth.accessTokenTtlSeconds;
  await ensureSigningKey(database, config.encryption);
  let ring = await loadKeyRing(database, config.encryption, { maxTokenTtlSeconds: ttl });
  let lastLoad = Date.now();
  let keyTimer: NodeJS.Timeout | undefined;

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

  const ctx: AuthContext = {
    config,
    database,
    limiter,
    loginGuard: createLoginGuard(limiter),
    revocation,
    mailer: deps.mailer,
    logger: deps.logger,
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
      ring = await loadKeyRing(database, config.encryption, { maxTokenTtlSeconds: ttl });
    },
    async start() {
      await primeDummyHash(config.auth.argon2);
      await revocation.start();
      keyTimer = setInterval(() => {
        ctx
          .reloadKeys(true)
          .catch((err) =>
            deps.logger?.warn({ err: { message: err.message } }, 'signing key reload failed'),
          );
      }, KEY_RELOAD_MS);
      keyTimer.unref();
    },
    stop() {
      revocation.stop();
      if (keyTimer) clearInterval(keyTimer);
    },
  };
  return ctx;
}

export function requestMeta(request: {
  ip: string;
  headers: Record<string, string | string[] | undefined>;
  id: string;
}): RequestMeta {
  const ua = request.headers['user-agent'];
  return {
    ip: request.ip,
    userAgent: typeof ua === 'string' ? ua.slice(0, 512) : null,
    requestId: request.id,
  };
}
