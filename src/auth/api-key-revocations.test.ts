// The in-process feed of API keys revoked here: every listener hears each revocation, one that
// throws stops none of the others, and a socket still in its gate can ask whether its key died.
import { describe, expect, it, vi } from 'vitest';
import { createApiKeyRevocations } from './api-key-revocations.ts';

describe('createApiKeyRevocations', () => {
  it('tells every listener, past one that throws, and remembers the keys', () => {
    const error = vi.fn();
    const feed = createApiKeyRevocations({ error } as never);
    const heard: string[][] = [];
    feed.onRevoked(() => {
      throw new Error('listener broke');
    });
    const off = feed.onRevoked((ids) => heard.push([...ids]));
    feed.add([]);
    expect(heard).toEqual([]);
    feed.add(['k1', 'k2']);
    expect(heard).toEqual([['k1', 'k2']]);
    expect(error).toHaveBeenCalledWith(
      { err: { message: 'listener broke' } },
      'api key revocation listener failed',
    );
    expect(feed.isRevoked('k1')).toBe(true);
    expect(feed.isRevoked('k3')).toBe(false);
    off();
    feed.add(['k3']);
    expect(heard).toHaveLength(1);
    expect(feed.isRevoked('k3')).toBe(true);
  });

  it('forgets a key after a few minutes (the watcher covers older revocations)', () => {
    vi.useFakeTimers();
    try {
      const feed = createApiKeyRevocations();
      feed.add(['old']);
      vi.advanceTimersByTime(6 * 60_000);
      expect(feed.isRevoked('old')).toBe(false);
      feed.add(['new']);
      expect(feed.isRevoked('new')).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });
});
