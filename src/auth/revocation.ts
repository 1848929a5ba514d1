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

/** The sessions' revoked_reason of an org's suspension or lockdown (src/suspension/). */
const SUSPENSION_REASONS: ReadonlySet<string> = new Set(['org_suspended', 'org_lockdown']);

/** Whether a session's revoked_reason says its org's suspension (or lockdown) ended it. */
export function isSuspensionReason(reason: string | null | undefined): boolean {
  return reason != null && SUSPENSION_REASONS.has(reason);
}

export interface RevocationList {
  isRevoked(sessionId: string): boolean;
  /**
   * Whether the session ended by its org's suspension (or lockdown): what its holder is told is
   * `org suspended`, not `revoked` (README, kill switch), even before this instance's
   * suspended-org poll has found the org.
   */
  endedBySuspension(sessionId: string): boolean;
  /** Sessions ended here; `reason` is the revoked_reason written with them (the suspension's). */
  add(sessionIds: readonly string[], reason?: string): void;
  /**
   * Be told of every session this instance learns has ended, once per session: those ended here
   * (at `add`) and those ended on other instances (at the poll that finds them). Live
   * connections that outlast a request (device sockets, LiveKit participants) hang up on it;
   * `endedBySuspension` already answers for every id a listener is given.
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
  // Invariant: an id is known ended by suspension only with the revocation that says so — the
  // same `add` call or poll row, recorded before any listener hears of it — never by another
  // read, and forgotten with it (one map, one prune).
  const revoked = new Map<string, { at: number; bySuspension: boolean }>();
  // The watermark is the database's clock (as revoked_at is), never this instance's: a lagging
  // clock on either side must not hide a revocation. Polls overlap by REVOCATION_OVERLAP_MS: a
  // revocation stamped before the previous poll's reading but committed after its read still
  // shows, unless its transaction took longer than that to commit.
  let since: Date | null = null;

  /** Record revocations; returns the ids this instance did not know yet. */
  function record(entries: Iterable<[string, string | null | undefined]>, at: number): string[] {
    const fresh: string[] = [];
    for (const [id, reason] of entries) {
      const known = revoked.get(id);
      if (!known) fresh.push(id);
      // A session is revoked once (revoked_at is set only when null): its reason never changes,
      // but a caller of `add` that gave none must not hide the one a poll reads.
      revoked.set(id, { at, bySuspension: isSuspensionReason(reason) || !!known?.bySuspension });
    }
    return fresh;
  }

  function prune(now: number) {
    for (const [id, { at }] of revoked) if (now - at > opts.retainMs) revoked.delete(id);
  }

  const feed = createPolledFeed<string>({
    async read() {
      const { now, rows } = await withSystemRead(opts.database, (tx) =>
        revokedSince(tx, since, opts.retainMs),
      );
      // Kept from when this instance learned of it: retention is judged by one clock, its own.
      const learned = Date.now();
      const fresh = record(
        rows.map((r) => [r.id, r.revoked_reason]),
        learned,
      );
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
    endedBySuspension: (id) => revoked.get(id)?.bySuspension === true,
    add(ids, reason) {
      feed.notify(
        record(
          ids.map((id) => [id, reason]),
          Date.now(),
        ),
      );
    },
    onRevoked: feed.subscribe,
    poll: feed.poll,
    start: feed.start,
    stop: feed.stop,
  };
}
