// The operator's view of an unreachable Redis: one warning naming REDIS_URL (never its
// password), the error, and what this instance does meanwhile.
import { createServer } from 'node:net';
import { pino } from 'pino';
import { expect, it } from 'vitest';
import { openRedis } from './redis.ts';

it('an unreachable REDIS_URL is one warning naming it, its password redacted', async () => {
  // A port that was free a moment ago: nothing listens there.
  const port = await new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l)) });
  const redis = openRedis(`redis://:hunter2-secret@127.0.0.1:${port}/0`, logger);
  try {
    await expect.poll(() => lines.length, { timeout: 10_000 }).toBeGreaterThan(0);
    // Retries go on (every 2 s at most) without a warning each.
    await new Promise((r) => setTimeout(r, 500));
    expect(lines).toHaveLength(1);
    const [warning] = lines;
    expect(warning).toMatchObject({ level: 40, redis_url: `redis://127.0.0.1:${port}/0` });
    expect(String(warning!.msg)).toContain(`Redis at REDIS_URL (redis://127.0.0.1:${port}/0)`);
    expect(String(warning!.msg)).toContain('ECONNREFUSED');
    expect(JSON.stringify(lines)).not.toContain('hunter2');
  } finally {
    redis.disconnect();
  }
});

it('credentials Redis refuses are named as such, not as an outage', async () => {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const target = new URL(url);
  target.username = 'no-such-user';
  target.password = 'hunter2-secret';
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l)) });
  const redis = openRedis(target.toString(), logger);
  try {
    await expect.poll(() => lines.length, { timeout: 10_000 }).toBeGreaterThan(0);
    expect(String(lines[0]!.msg)).toContain('refused the credentials in REDIS_URL (WRONGPASS');
    expect(JSON.stringify(lines)).not.toContain('hunter2');
  } finally {
    redis.disconnect();
  }
});
