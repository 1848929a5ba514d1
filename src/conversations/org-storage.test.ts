// The per-org cache of stored bytes that audio-start checks AUDIO_MAX_ORG_BYTES against: one
// aggregate per org per few seconds, however many conversations start, and never a total that
// forgets a conversation this instance admitted since the read.
import { describe, expect, it } from 'vitest';
import { CONVERSATION_OVERHEAD_BYTES as OVERHEAD } from './conversation.repository.ts';
import { type Charge, OrgStoredBytes } from './org-storage.ts';

function setup(ttlMs = 5000) {
  let now = 1_000_000;
  const reads: string[] = [];
  let stored = 10_000;
  const cache = new OrgStoredBytes(ttlMs, () => now);
  const read = (orgId: string) => () => {
    reads.push(orgId);
    return Promise.resolve(stored);
  };
  /** Admits a conversation holding `bytes()`; answers the total it saw. */
  const admit = async (orgId: string, c: Charge = { bytes: () => 0 }) => {
    let seen = -1;
    await cache.admit(orgId, read(orgId), (total) => {
      seen = total;
      return c;
    });
    return seen;
  };
  return {
    cache,
    reads,
    admit,
    advance: (ms: number) => {
      now += ms;
    },
    setStored: (n: number) => {
      stored = n;
    },
  };
}

describe('OrgStoredBytes', () => {
  it('reads an org once while fresh, and again once the entry is older than its lifetime', async () => {
    const { reads, admit, advance, setStored } = setup();
    expect(await admit('a')).toBe(10_000);
    setStored(50_000);
    advance(4999);
    expect(await admit('a')).toBe(10_000 + OVERHEAD);
    expect(reads).toEqual(['a']);
    advance(1);
    expect(await admit('a')).toBe(50_000);
    expect(reads).toEqual(['a', 'a']);
  });

  it('counts every conversation admitted since the read: its overhead and the bytes it holds now', async () => {
    const { admit } = setup();
    let live = 0;
    await admit('a', { bytes: () => live });
    await admit('a', { bytes: () => 300 });
    live = 7000;
    expect(await admit('a')).toBe(10_000 + 2 * OVERHEAD + 7300);
  });

  it('starts arriving together share one read, and each sees the ones admitted before it', async () => {
    const { reads, admit } = setup();
    const totals = await Promise.all([admit('a'), admit('a'), admit('a')]);
    expect(reads).toEqual(['a']);
    expect(totals).toEqual([10_000, 10_000 + OVERHEAD, 10_000 + 2 * OVERHEAD]);
  });

  it('a refused conversation is not counted', async () => {
    const { cache, admit } = setup();
    await expect(
      cache.admit(
        'a',
        () => Promise.resolve(10_000),
        () => {
          throw new Error('org audio storage full');
        },
      ),
    ).rejects.toThrow('full');
    expect(await admit('a')).toBe(10_000);
  });

  it('keeps orgs apart', async () => {
    const { reads, admit, setStored } = setup();
    await admit('a', { bytes: () => 5 });
    setStored(20);
    expect(await admit('b')).toBe(20);
    expect(await admit('a')).toBe(10_000 + OVERHEAD + 5);
    expect(reads).toEqual(['a', 'b']);
  });

  it('does not keep a failed read: the next start reads again', async () => {
    const { cache, reads, admit } = setup();
    const failing = () => Promise.reject(new Error('database gone'));
    await expect(cache.admit('a', failing, () => ({ bytes: () => 0 }))).rejects.toThrow(
      'database gone',
    );
    expect(await admit('a')).toBe(10_000);
    expect(reads).toEqual(['a']);
  });

  it('drops expired orgs on every admit, not only when some org needs a fresh read', async () => {
    // An expired entry (its charges, each holding a Recording) stayed until a fresh read.
    const { cache, admit, advance } = setup();
    await admit('a', { bytes: () => 1 });
    advance(3000);
    await admit('b');
    expect(cache.size).toBe(2);
    advance(2500);
    // 'b' is still fresh (no read): 'a' expired and is dropped all the same.
    await admit('b');
    expect(cache.size).toBe(1);
  });

  it('counts a finished conversation charged as a plain number', async () => {
    const { admit } = setup();
    await admit('a', { bytes: 1234 });
    expect(await admit('a')).toBe(10_000 + OVERHEAD + 1234);
  });
});
