// Redis, when REDIS_URL is set: where counters shared by several instances live (rate limits,
// concurrency quotas). Commands fail fast instead of queueing while Redis is down.
// An operator reads the warning, not the code: it names REDIS_URL (its password redacted), the
// error, and what this instance does meanwhile (its own counters); and when Redis is back.
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { redactConnectionUrl } from './url.ts';

export function openRedis(url: string, logger?: Logger): Redis {
  const redis = new Redis(url, {
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  const where = redactConnectionUrl(url);
  let down = false;
  redis.on('error', (err: NodeJS.ErrnoException) => {
    if (down) return;
    down = true;
    // A refused password or user does not come back by itself: say which part of REDIS_URL.
    const refused = /WRONGPASS|NOAUTH|NOPERM/.test(err.message);
    const what = refused
      ? `refused the credentials in REDIS_URL (${err.message})`
      : `cannot be reached (${err.code ?? err.message})`;
    logger?.warn(
      { err: { message: err.message, code: err.code }, redis_url: where },
      `Redis at REDIS_URL (${where}) ${what}: until it answers, rate limits count in this instance's memory and concurrency quotas are not enforced`,
    );
  });
  redis.on('ready', () => {
    if (down)
      logger?.info({ redis_url: where }, `Redis at REDIS_URL (${where}) is reachable again`);
    down = false;
  });
  return redis;
}
