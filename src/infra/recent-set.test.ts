// The recent set: an id is known for its window after it was added, then forgotten.
import { describe, expect, it } from 'vitest';
import { createRecentSet } from './recent-set.ts';

describe('recent set', () => {
  it('knows an id for its window, then forgets it, and drops aged ids as others come', () => {
    let t = 0;
    const set = createRecentSet(1000, () => t);
    set.add(['a']);
    t = 1000;
    expect(set.has('a')).toBe(true);
    expect(set.has('b')).toBe(false);
    t = 1001;
    expect(set.has('a')).toBe(false);
    expect(set.size()).toBe(1);
    set.add(['b']);
    expect(set.has('b')).toBe(true);
    expect(set.size()).toBe(1);
    // Added again: a new window from now.
    set.add(['a']);
    t = 2000;
    expect(set.has('a')).toBe(true);
  });
});
