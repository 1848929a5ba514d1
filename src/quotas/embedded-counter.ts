// The lease counter of the embedded database. One process owns an embedded data directory (the
// data-dir lock refuses a second), so every acquirer of its leases is in this process: the count
// can live in memory, where a check is a map lookup and never waits on the database (a PGlite
// call has a tail of over a millisecond at p99 however small the statement; BENCHMARKS.md).
//
// Invariants:
// - Memory is the authority. An acquire decides synchronously (one JavaScript turn: no two can
//   interleave), so the limit holds exactly, as the database function's lock made it hold.
// - quota_leases is the copy that outlives the process: every change is written behind, in
//   order, through the database counter's own functions (an acquire with no limit of its own);
//   an org's leases are read back from it on its first use after a start. A crash loses at most
//   the changes not yet written, the last milliseconds: slots freed early, the same bargain as
//   the database counter's synchronous_commit off.
// - One state per database handle (two app instances over one handle, as in tests, share it).
import type { Database } from '../db/database.ts';
import type { QuotaKind } from '../db/schema.ts';
import { withTenantRead, withTenantStatement } from '../db/tenant.ts';
import { type LeaseCounter, zeros } from './counter.ts';
import { acquireLease, liveLeasesOf, releaseLeases } from './quota.repository.ts';

/** What the write-behind passes as its limit: it records a decision already made in memory. */
const NO_LIMIT = 2 ** 31 - 1;

const orgContext = (orgId: string) => ({ orgId, userId: null, role: null });

function leasesOf(byKind: Map<QuotaKind, Map<string, number>>, kind: QuotaKind) {
  let leases = byKind.get(kind);
  if (!leases) {
    leases = new Map();
    byKind.set(kind, leases);
  }
  return leases;
}

export class EmbeddedLeases implements LeaseCounter {
  readonly name = 'embedded' as const;
  /** org id → kind → lease id → expiry (ms). Present once the org's rows were read back. */
  readonly #orgs = new Map<string, Map<QuotaKind, Map<string, number>>>();
  readonly #loading = new Map<string, Promise<Map<QuotaKind, Map<string, number>>>>();
  #writes: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly database: Database,
    private readonly onWriteError: (err: unknown) => void = () => {},
  ) {}

  /** The org's leases, read back from the table on first use. */
  async #leases(orgId: string, now: number) {
    const loaded = this.#orgs.get(orgId);
    if (loaded) return loaded;
    let loading = this.#loading.get(orgId);
    if (!loading) {
      loading = withTenantRead(this.database, orgContext(orgId), (tx) =>
        liveLeasesOf(tx, new Date(now)),
      ).then((rows) => {
        // Changes made while the rows were read are already in the map: they win.
        const byKind = this.#orgs.get(orgId) ?? new Map<QuotaKind, Map<string, number>>();
        for (const r of rows) {
          const leases = leasesOf(byKind, r.kind);
          if (!leases.has(r.lease_id)) leases.set(r.lease_id, r.expires_at.getTime());
        }
        this.#orgs.set(orgId, byKind);
        this.#loading.delete(orgId);
        return byKind;
      });
      loading.catch(() => this.#loading.delete(orgId));
      this.#loading.set(orgId, loading);
    }
    return loading;
  }

  /** Queue a write of a decision already made; writes run one at a time, in order. */
  #behind(orgId: string, write: Parameters<typeof withTenantStatement>[2]) {
    this.#writes = this.#writes
      .then(() => withTenantStatement(this.database, orgContext(orgId), write))
      .catch(this.onWriteError);
  }

  /** Resolves once every change so far is in quota_leases (tests, shutdown). */
  settled(): Promise<void> {
    return this.#writes.then(() => {});
  }

  async acquire(
    orgId: string,
    kind: QuotaKind,
    leaseId: string,
    limit: number,
    expiresAt: number,
    now: number,
  ) {
    const byKind = await this.#leases(orgId, now);
    // From here to the return: no await, so this decision cannot interleave with another.
    const leases = leasesOf(byKind, kind);
    for (const [id, expiry] of leases) if (expiry <= now) leases.delete(id);
    const held = leases.get(leaseId);
    if (held === undefined && leases.size >= limit) return { acquired: false, live: leases.size };
    leases.set(leaseId, Math.max(held ?? 0, expiresAt));
    this.#behind(orgId, (tx) =>
      acquireLease(tx, kind, leaseId, NO_LIMIT, new Date(expiresAt), new Date(now)),
    );
    return { acquired: true, live: leases.size };
  }

  async release(orgId: string, kind: QuotaKind, leaseIds: readonly string[]) {
    if (leaseIds.length === 0) return;
    const byKind = await this.#leases(orgId, Date.now());
    const leases = byKind.get(kind);
    for (const id of leaseIds) leases?.delete(id);
    this.#behind(orgId, (tx) => releaseLeases(tx, kind, leaseIds));
  }

  async live(orgId: string, now: number) {
    const byKind = await this.#leases(orgId, now);
    const counts = zeros();
    for (const [kind, leases] of byKind) {
      for (const expiry of leases.values()) if (expiry > now) counts[kind]++;
    }
    return counts;
  }
}

const shared = new WeakMap<Database, EmbeddedLeases>();

/** The embedded database's counter: one per database handle. */
export function embeddedCounterFor(
  database: Database,
  onWriteError?: (err: unknown) => void,
): EmbeddedLeases {
  let counter = shared.get(database);
  if (!counter) {
    counter = new EmbeddedLeases(database, onWriteError);
    shared.set(database, counter);
  }
  return counter;
}
