// Redis keys a test (or a bench run) made: found by prefix and deleted when it ends, so that a
// run leaves nothing behind on the shared Redis of the machine (CI runs right after on it).
import type { Redis } from 'ioredis';

/** Every key under `prefix:` (SCAN, never KEYS: it does not block a Redis others share). */
export async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

/** Deletes every key under `prefix:`. */
export async function deleteKeysUnder(redis: Redis, prefix: string): Promise<void> {
  const keys = await keysUnder(redis, prefix);
  if (keys.length > 0) await redis.del(...keys);
}
