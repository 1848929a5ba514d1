// Which sessions have ended. Access tokens are verified without the database, so a logout must
// reach every instance some other way: this instance learns its own revocations at once
// (`add`), and every instance polls the sessions table for revocations made elsewhere, so an
// ended session's access token is refused everywhere within one poll interval.
import type { Logger } from 'pino';
import type { Database } from '../db/database.ts';
import { withSystemRead } from '../db/tenant.ts';
import { createPolledFeed } from '../infra/polled-feed.ts';
import { revokedSince } from './session.repository.ts';

/** How far each poll reaches back before the previous one's reading (database clock). */
export const REVOCATION_OVERLAP_MS = 30_000;

export interface RevocationList {
  isRevoked(sessionId: string): boolean;
  add(sessionIds: readonly string[]): void;
  /**
   * Be told of every session this instance learns has ended, once per session: those ended here
   * (at `add`) and those ended on other instances (at the poll that finds them). Live
   * connections that outlast a request (device sockets, LiveKit participants) hang up on it.
   * Returns the unsubscribe function. A listener that throws is logged, never stops the others.
   */
  onRevoked(listener: (sessionIds: readonly string[]) => void): () => void;
  /** Read revocations from the database now (also called by the timer). */
  poll(): Promise<void>;
  start(): Promise<void>;
  stop(): void;
}

export function createRevocationList(opts: {
  database: Database;
  pollMs: number;
  /** Revoked ids are kept as long as an access token of theirs could still be valid. */
  retainMs: number;
  logger?: Logger;
}): RevocationList {
  const revoked = new Map<string, number>();
  // The watermark is the database's clock (as revoked_at is), never this instance's: a lagging
  // clock on either side must not hide a revocation. Polls overlap by REVOCATION_OVERLAP_MS: a
  // revocation stamped before the previous poll's reading but committed after its read still
  // shows, unless its transaction took longer than that to commit.
  let since: Date | null = null;

  /** Record revocations; returns the ids this instance did not know yet. */
  function record(entries: Iterable<[string, number]>): string[] {
    const fresh: string[] = [];
    for (const [id, at] of entries) {
      if (!revoked.has(id)) fresh.push(id);
      revoked.set(id, at);
    }
    return fresh;
  }

  function prune(now: number) {
    for (const [id, at] of revoked) if (now - at > opts.retainMs) revoked.delete(id);
  }

  const feed = createPolledFeed<string>({
    async read() {
      const { now, ids } = await withSystemRead(opts.database, (tx) =>
        revokedSince(tx, since, opts.retainMs),
      );
      // Kept from when this instance learned of it: retention is judged by one clock, its own.
      const learned = Date.now();
      const fresh = record(ids.map((id) => [id, learned] as [string, number]));
      since = new Date(now.getTime() - REVOCATION_OVERLAP_MS);
      prune(learned);
      return fresh;
    },
    pollMs: opts.pollMs,
    logger: opts.logger,
    messages: {
      listenerFailed: 'revocation listener failed',
      pollFailed: 'revocation poll failed',
    },
  });

  return {
    isRevoked: (id) => revoked.has(id),
    add(ids) {
      const now = Date.now();
      feed.notify(record(ids.map((id) => [id, now] as [string, number])));
    },
    onRevoked: feed.subscribe,
    poll: feed.poll,
    start: feed.start,
    stop: feed.stop,
  };
}
