// Which orgs are suspended or locked down (the kill switch, src/suspension/). Like the revocation
// list beside it, this is what lets every instance refuse a suspended org's credentials without a
// database round trip per request: the instance that suspends an org knows at once (`suspend`),
// and every instance polls the (small) set of suspended orgs every REVOCATION_POLL_MS, so an
// org's access tokens are refused everywhere within one poll interval. Live connections that
// outlast a request (device sockets, LiveKit participants) hang up through `onSuspended`.
//
// Invariant: an org is lifted on an instance only after that instance has read the sessions its
// suspension ended (`catchUp`, the revocation list's poll). The suspension revoked them in its own
// transaction, but an instance learns of suspensions and of revocations by two separate polls:
// one that saw the suspension before its revocation poll ran refused those sessions only as
// "suspended", and lifting the org first would let them back in until that poll.
//
// Invariant: a suspension or resume made here is never undone by a poll whose read may predate
// its commit (every change made here is numbered; a poll applies its reading, then the changes
// made after it began). A suspension here while a resume of the same org waits is told again.
import type { Logger } from 'pino';
import type { Database } from '../db/database.ts';
import { withSystem } from '../db/tenant.ts';
import { createPolledFeed } from '../infra/polled-feed.ts';
import { suspendedOrgIds } from './suspended-org.repository.ts';

export interface SuspendedOrgs {
  isSuspended(orgId: string): boolean;
  /** This instance suspended these orgs: refuse them now and tell the listeners. */
  suspend(orgIds: readonly string[]): void;
  /**
   * This instance resumed these orgs (after the commit): they are lifted once the revocation list
   * has caught up. Never rejects: if the catch-up fails they stay refused here until a poll lifts
   * them (and catches up first).
   */
  resume(orgIds: readonly string[]): Promise<void>;
  /**
   * Be told of every org this instance learns is suspended, once per suspension: those suspended
   * here (at `suspend`) and those suspended on other instances (at the poll that finds them).
   * Returns the unsubscribe function. A listener that throws is logged, never stops the others.
   */
  onSuspended(listener: (orgIds: readonly string[]) => void): () => void;
  /** Read the suspended set from the database now (also called by the timer). */
  poll(): Promise<void>;
  start(): Promise<void>;
  stop(): void;
}

export function createSuspendedOrgs(opts: {
  database: Database;
  pollMs: number;
  /** Reads every session ended so far (the revocation list's poll): run before lifting an org. */
  catchUp: () => Promise<void>;
  logger?: Logger;
}): SuspendedOrgs {
  let suspended = new Set<string>();
  // Changes made here (after their commit), numbered: a poll whose read began before one may
  // predate its commit, so the change wins over that read; a read begun after it saw it.
  let changes = 0;
  const madeHere = new Map<string, { at: number; suspended: boolean }>();
  /** Orgs whose resume here waits for the catch-up: a suspension of one meanwhile is new. */
  const resuming = new Set<string>();

  async function caughtUp(): Promise<boolean> {
    try {
      await opts.catchUp();
      return true;
    } catch (err) {
      opts.logger?.warn(
        { err: { message: (err as Error).message } },
        'revocation catch-up failed; resumed orgs stay refused here until the next poll',
      );
      return false;
    }
  }

  const feed = createPolledFeed<string>({
    async read() {
      const began = changes;
      const ids = await withSystem(opts.database, (tx) => suspendedOrgIds(tx));
      const next = new Set(ids);
      const lifted = [...suspended].filter((id) => !next.has(id));
      // After the read: the resume it saw committed after the revocations, so this sees them.
      // Failing, the lifted orgs stay refused until a later poll (new suspensions apply now).
      if (lifted.length > 0 && !(await caughtUp())) for (const id of lifted) next.add(id);
      for (const [id, change] of madeHere) {
        if (change.at <= began) madeHere.delete(id);
        else if (change.suspended) next.add(id);
        else next.delete(id);
      }
      const fresh = [...next].filter((id) => !suspended.has(id));
      suspended = next;
      return fresh;
    },
    pollMs: opts.pollMs,
    logger: opts.logger,
    messages: {
      listenerFailed: 'suspension listener failed',
      pollFailed: 'suspended-org poll failed',
    },
  });

  return {
    isSuspended: (orgId) => suspended.has(orgId),
    suspend(orgIds) {
      const fresh = orgIds.filter((id) => !suspended.has(id) || resuming.has(id));
      for (const id of orgIds) {
        suspended.add(id);
        madeHere.set(id, { at: ++changes, suspended: true });
      }
      feed.notify(fresh);
    },
    async resume(orgIds) {
      const calledAt = changes;
      for (const id of orgIds) resuming.add(id);
      try {
        if (!(await caughtUp())) return;
        for (const id of orgIds) {
          // Suspended again here while the catch-up ran: that suspension stands.
          const since = madeHere.get(id);
          if (since && since.at > calledAt && since.suspended) continue;
          suspended.delete(id);
          madeHere.set(id, { at: ++changes, suspended: false });
        }
      } finally {
        for (const id of orgIds) resuming.delete(id);
      }
    },
    onSuspended: feed.subscribe,
    poll: feed.poll,
    start: feed.start,
    stop: feed.stop,
  };
}
