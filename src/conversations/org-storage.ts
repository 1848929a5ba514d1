// The storage an org's conversations hold, as `audio-start` checks it against AUDIO_MAX_ORG_BYTES,
// cached per org for a few seconds in this instance.
//
// Threat: the total is an aggregate over every conversation of the org (O(rows)), and each socket
// may start 60 conversations a minute; on PGlite (one thread for every request) a few devices
// looping audio-start, audio-stop made the server spend its time summing. With the cache an org
// costs at most one aggregate per STORED_BYTES_CACHE_MS per instance, however many start.
//
// Invariant: the total a start sees is the one read (at most STORED_BYTES_CACHE_MS ago) plus every
// conversation this instance started since, each at its overhead and the bytes it holds now (a
// live one keeps counting as it grows; one that ended, its final bytes), so starts on this
// instance in quick succession see each other as a fresh read would. What it misses, for at most
// those few seconds: conversations other instances started (PostgreSQL), the growth of streams
// that were live at the read, and deletions (which only make it refuse early). Each conversation
// missed is one running at once or within those seconds, and adds at most what it was allowed at
// its start: the bound's documented overshoot (audio-stream.handler.ts).
//
// Memory: every admit drops the entries of every org whose read has expired, so the cache holds
// only orgs admitted within STORED_BYTES_CACHE_MS; a live conversation's charge reads its
// Recording, and a finished one is a plain number (the handler sets it at finish), so an entry
// never keeps an ended Recording (its sink, its Ogg writer) alive.
import { CONVERSATION_OVERHEAD_BYTES } from './conversation.repository.ts';

/** How long an org's total read from the database is trusted by this instance. */
export const STORED_BYTES_CACHE_MS = 5_000;

/**
 * A conversation this instance admitted since the read: what it holds now, read from the live
 * recording, or its final bytes once it ended (a number holds no reference to the recording).
 */
export interface Charge {
  bytes: number | (() => number);
}

const chargeBytes = (c: Charge) => (typeof c.bytes === 'number' ? c.bytes : c.bytes());

interface Entry {
  readAt: number;
  read: Promise<number>;
  started: Charge[];
}

export class OrgStoredBytes {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly ttlMs = STORED_BYTES_CACHE_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Admits a conversation of the org: `decide` gets the org's stored total (from the cache while
   * it is fresh, else from `read`, one read at a time per org: starts arriving together share it)
   * and answers the conversation to count from now on, or throws to refuse it. `decide` runs in
   * the same synchronous step as the total is computed and the conversation counted, so starts of
   * the org arriving together each see the ones admitted before them. A failed read is not kept.
   */
  async admit(orgId: string, read: () => Promise<number>, decide: (stored: number) => Charge) {
    const at = this.now();
    // On every admit, not only on a fresh read: an expired entry (its charges included) never
    // outlives the next admit of any org.
    this.forgetExpired(at);
    let entry = this.entries.get(orgId);
    if (!entry) {
      const fresh: Entry = { readAt: at, read: read(), started: [] };
      fresh.read.catch(() => {
        if (this.entries.get(orgId) === fresh) this.entries.delete(orgId);
      });
      this.entries.set(orgId, fresh);
      entry = fresh;
    }
    let total = await entry.read;
    for (const c of entry.started) total += CONVERSATION_OVERHEAD_BYTES + chargeBytes(c);
    const conversation = decide(total);
    // Into the org's entry as it is now: one read since this one started has not seen this
    // conversation's row either (it is inserted after this).
    this.entries.get(orgId)?.started.push(conversation);
  }

  /** Orgs with an entry (fresh or not yet pruned). */
  get size(): number {
    return this.entries.size;
  }

  /** Orgs whose entry has expired are dropped (memory stays bounded by the orgs active lately). */
  private forgetExpired(at: number): void {
    for (const [orgId, e] of this.entries) {
      if (at - e.readAt >= this.ttlMs) this.entries.delete(orgId);
    }
  }
}
