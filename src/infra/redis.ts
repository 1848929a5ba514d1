// Redis, when REDIS_URL is set: where counters shared by several instances live (rate limits,
// revoked-session notices). Commands fail fast instead of queueing while Redis is down.
import { Redis } from 'ioredis';
import type { Logger } from 'pino';

export function openRedis(url: string, logger?: Logger): Redis {
  const redis = new Redis(url, {
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  let warned = false;
  redis.on('error', (err) => {
    if (!warned) logger?.warn({ err: { message: err.message } }, 'redis connection error');
    warned = true;
  });
  redis.on('ready', () => {
    warned = false;
  });
  return redis;
}
