// Ids remembered for a while: what an instance learned at once (a key or device it revoked) and a
// request still in flight must be able to ask about, before the poll that covers older ones.
// Bounded by time: every add drops what has aged out.

export interface RecentSet {
  add(ids: Iterable<string>): void;
  /** Added within the window. */
  has(id: string): boolean;
  /** Ids held now, aged ones not yet dropped included (memory, for tests). */
  size(): number;
}

export function createRecentSet(windowMs: number, now: () => number = Date.now): RecentSet {
  const at = new Map<string, number>();
  return {
    add(ids) {
      const t = now();
      for (const [id, added] of at) if (t - added > windowMs) at.delete(id);
      for (const id of ids) at.set(id, t);
    },
    has(id) {
      const added = at.get(id);
      return added !== undefined && now() - added <= windowMs;
    },
    size: () => at.size,
  };
}
