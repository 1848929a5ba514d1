// Which sessions have ended. Access tokens are verified without the database, so a logout must
// reach every instance some other way: this instance learns its own revocations at once
// (`add`), and every instance polls the sessions table for revocations made elsewhere, so an
// ended session's access token is refused everywhere within one poll interval.
import type { Logger } from 'pino';
import type { Database } from '../db/database.ts';
import { withSystem } from '../db/tenant.ts';
import { revokedSince } from './session.repository.ts';

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
  // Overlap polls slightly: a revocation committed just before our clock reading still shows.
  let since = new Date(Date.now() - opts.retainMs);
  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<void> | undefined;
  const listeners = new Set<(sessionIds: readonly string[]) => void>();

  function notify(ids: readonly string[]) {
    if (ids.length === 0) return;
    for (const listener of listeners) {
      try {
        listener(ids);
      } catch (err) {
        opts.logger?.error(
          { err: { message: (err as Error).message } },
          'revocation listener failed',
        );
      }
    }
  }

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

  async function pollOnce() {
    const started = Date.now();
    const rows = await withSystem(opts.database, (tx) => revokedSince(tx, since));
    const fresh = record(
      rows.map((r) => [r.id, r.revoked_at ? r.revoked_at.getTime() : started] as [string, number]),
    );
    since = new Date(started - 5000);
    prune(started);
    notify(fresh);
  }

  return {
    isRevoked: (id) => revoked.has(id),
    add(ids) {
      const now = Date.now();
      notify(record(ids.map((id) => [id, now] as [string, number])));
    },
    onRevoked(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    poll() {
      polling ??= pollOnce().finally(() => {
        polling = undefined;
      });
      return polling;
    },
    async start() {
      await this.poll();
      timer = setInterval(() => {
        this.poll().catch((err) =>
          opts.logger?.warn({ err: { message: err.message } }, 'revocation poll failed'),
        );
      }, opts.pollMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
    },
  };
}
