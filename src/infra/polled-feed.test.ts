// The polled feed on its own (its owners, the revocation and suspended-org lists, are tested over
// two app instances in src/auth/): one read at a time, each poll answered by a read begun after it,
// what a read returns reaches every listener,
// a listener that throws is logged and does not stop the others.
import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { createPolledFeed } from './polled-feed.ts';

function recordingLogger() {
  const lines: { level: number; msg: string }[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

/** A feed whose every read waits until released (in order); counts reads and the most at once. */
function gatedFeed() {
  const stats = { reads: 0, inFlight: 0, most: 0 };
  const releases: (() => void)[] = [];
  const feed = createPolledFeed<string>({
    read: async () => {
      stats.reads++;
      stats.inFlight++;
      stats.most = Math.max(stats.most, stats.inFlight);
      await new Promise<void>((resolve) => releases.push(resolve));
      stats.inFlight--;
      return [];
    },
    pollMs: 60_000,
    messages: { listenerFailed: 'listener failed', pollFailed: 'poll failed' },
  });
  return { feed, releases, stats };
}

describe('polled feed', () => {
  it('runs one read at a time; a poll during a read waits for the next, which polls made meanwhile share', async () => {
    const { feed, releases, stats } = gatedFeed();
    const settled: string[] = [];
    const first = feed.poll().then(() => settled.push('first'));
    // Begun after the first read did: what it must see may have been committed after that read.
    const second = feed.poll().then(() => settled.push('second'));
    const third = feed.poll().then(() => settled.push('third'));
    expect(stats.reads).toBe(1);
    releases.shift()?.();
    await first;
    await new Promise((r) => setImmediate(r));
    expect(settled).toEqual(['first']);
    expect(stats.reads).toBe(2);
    releases.shift()?.();
    await Promise.all([second, third]);
    expect(settled).toEqual(['first', 'second', 'third']);
    expect(stats.reads).toBe(2);
    expect(stats.most).toBe(1);
    const fourth = feed.poll();
    releases.shift()?.();
    await fourth;
    expect(stats.reads).toBe(3);
  });

  it('a poll made just as a read ends joins the queued read, never runs a second beside it', async () => {
    const { feed, releases, stats } = gatedFeed();
    // Runs as the first read settles, before the queued read has begun.
    const late = feed.poll().then(() => feed.poll());
    const queued = feed.poll();
    releases.shift()?.();
    await new Promise((r) => setImmediate(r));
    while (releases.length > 0) {
      releases.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all([late, queued]);
    expect(stats.most).toBe(1);
    expect(stats.reads).toBe(2);
  });

  it('the timer skips its turn while a read is under way, and stop() drops a queued read', async () => {
    vi.useFakeTimers();
    try {
      let reads = 0;
      const releases: (() => void)[] = [];
      const feed = createPolledFeed<string>({
        read: async () => {
          reads++;
          if (reads > 1) await new Promise<void>((resolve) => releases.push(resolve));
          return [];
        },
        pollMs: 1000,
        messages: { listenerFailed: 'listener failed', pollFailed: 'poll failed' },
      });
      await feed.start();
      await vi.advanceTimersByTimeAsync(1000);
      expect(reads).toBe(2);
      // A slow database: the ticks during the read add no read of their own, not even one
      // queued behind it.
      await vi.advanceTimersByTimeAsync(5000);
      releases.shift()?.();
      await vi.advanceTimersByTimeAsync(0);
      expect(reads).toBe(2);
      // The next tick reads again; a poll queued behind that read is dropped by stop().
      await vi.advanceTimersByTimeAsync(1000);
      expect(reads).toBe(3);
      const waiting = feed.poll();
      feed.stop();
      releases.shift()?.();
      await waiting;
      await vi.advanceTimersByTimeAsync(5000);
      expect(reads).toBe(3);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a poll waiting behind a read that fails still gets its own read', async () => {
    let reads = 0;
    const feed = createPolledFeed<string>({
      read: async () => {
        reads++;
        if (reads === 1) {
          await new Promise((r) => setImmediate(r));
          throw new Error('database down');
        }
        return ['x'];
      },
      pollMs: 60_000,
      messages: { listenerFailed: 'listener failed', pollFailed: 'poll failed' },
    });
    const heard: string[] = [];
    feed.subscribe((items) => heard.push(...items));
    const first = feed.poll();
    const second = feed.poll();
    await expect(first).rejects.toThrow('database down');
    await second;
    expect(reads).toBe(2);
    expect(heard).toEqual(['x']);
  });

  it('tells every listener what a read found, logs one that throws, and nothing for none', async () => {
    const { logger, lines } = recordingLogger();
    let next: string[] = ['a', 'b'];
    const feed = createPolledFeed<string>({
      read: async () => next,
      pollMs: 60_000,
      logger,
      messages: { listenerFailed: 'listener failed', pollFailed: 'poll failed' },
    });
    const heard: string[][] = [];
    feed.subscribe(() => {
      throw new Error('broken');
    });
    const off = feed.subscribe((items) => heard.push([...items]));
    await feed.poll();
    next = [];
    await feed.poll();
    feed.notify(['c']);
    off();
    feed.notify(['d']);
    expect(heard).toEqual([['a', 'b'], ['c']]);
    expect(lines.filter((l) => l.msg === 'listener failed')).toHaveLength(3);
  });

  it('a failed poll rejects its caller; on the timer it is logged and the timer goes on', async () => {
    vi.useFakeTimers();
    try {
      const { logger, lines } = recordingLogger();
      let fail = false;
      let reads = 0;
      const feed = createPolledFeed<string>({
        read: async () => {
          reads++;
          if (fail) throw new Error('database down');
          return [];
        },
        pollMs: 1000,
        logger,
        messages: { listenerFailed: 'listener failed', pollFailed: 'poll failed' },
      });
      await feed.start();
      expect(reads).toBe(1);
      fail = true;
      await expect(feed.poll()).rejects.toThrow('database down');
      await vi.advanceTimersByTimeAsync(1000);
      expect(reads).toBe(3);
      expect(lines.filter((l) => l.msg === 'poll failed')).toHaveLength(1);
      fail = false;
      await vi.advanceTimersByTimeAsync(1000);
      expect(reads).toBe(4);
      feed.stop();
      await vi.advanceTimersByTimeAsync(5000);
      expect(reads).toBe(4);
      expect(lines.filter((l) => l.msg === 'poll failed')).toHaveLength(1);
    } finally {
      vi.useRealTimers();
    }
  });
});
