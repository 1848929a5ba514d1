// Which orgs are suspended or locked down (the kill switch, src/suspension/). Like the revocation
// list beside it, this is what lets every instance refuse a suspended org's credentials without a
// database round trip per request: the instance that suspends an org knows at once (`suspend`),
// and every instance polls the (small) set of suspended orgs every REVOCATION_POLL_MS, so an
// org's access tokens are refused everywhere within one poll interval. Live connections that
// outlast a request (device sockets, LiveKit participants) hang up through `onSuspended`.
import type { Logger } from 'pino';
import type { Database } from '../db/database.ts';
import { withSystem } from '../db/tenant.ts';
import { createPolledFeed } from '../infra/polled-feed.ts';
import { suspendedOrgIds } from './suspended-org.repository.ts';

export interface SuspendedOrgs {
  isSuspended(orgId: string): boolean;
  /** This instance suspended these orgs: refuse them now and tell the listeners. */
  suspend(orgIds: readonly string[]): void;
  /** This instance resumed these orgs. */
  resume(orgIds: readonly string[]): void;
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
  logger?: Logger;
}): SuspendedOrgs {
  let suspended = new Set<string>();

  const feed = createPolledFeed<string>({
    async read() {
      const ids = await withSystem(opts.database, (tx) => suspendedOrgIds(tx));
      const fresh = ids.filter((id) => !suspended.has(id));
      suspended = new Set(ids);
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
      const fresh = orgIds.filter((id) => !suspended.has(id));
      for (const id of fresh) suspended.add(id);
      feed.notify(fresh);
    },
    resume(orgIds) {
      for (const id of orgIds) suspended.delete(id);
    },
    onSuspended: feed.subscribe,
    poll: feed.poll,
    start: feed.start,
    stop: feed.stop,
  };
}
