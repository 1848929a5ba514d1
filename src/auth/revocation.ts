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

  function prune(now: number) {
    for (const [id, at] of revoked) if (now - at > opts.retainMs) revoked.delete(id);
  }

  async function pollOnce() {
    const started = Date.now();
    const rows = await withSystem(opts.database, (tx) => revokedSince(tx, since));
    for (const r of rows) revoked.set(r.id, r.revoked_at ? r.revoked_at.getTime() : started);
    since = new Date(started - 5000);
    prune(started);
  }

  return {
    isRevoked: (id) => revoked.has(id),
    add(ids) {
      const now = Date.now();
      for (const id of ids) revoked.set(id, now);
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
