// What every instance learns by polling the database and must pass on to live connections that
// outlast a request (sessions ended: src/auth/revocation.ts; orgs suspended:
// src/auth/suspended-orgs.ts). The owner keeps its own set and says what a poll found new; the
// feed runs the poll on a timer, one at a time, and tells the listeners.
//
// Invariants:
// - One read at a time, and every `poll()` settles after a read that began after the call (a
//   caller that has just seen a commit learns of it): a call during a read waits for it and then
//   shares the next read with every other call made meanwhile.
// - A listener that throws is logged (its message only), never stops the others.
// - A failed timer poll is logged and the timer goes on; `poll()` called directly rejects.
// - The timer skips its turn while a read runs or waits; after `stop()` a queued read is dropped.
import type { Logger } from 'pino';

export interface PolledFeed<T> {
  /** Tell every listener of these items; nothing at all for none. */
  notify(items: readonly T[]): void;
  /** Returns the unsubscribe function. */
  subscribe(listener: (items: readonly T[]) => void): () => void;
  /** Run a read that begins after this call (also called by the timer); notify what it returns. */
  poll(): Promise<void>;
  /** Poll once, then every pollMs (the timer does not hold the process open). */
  start(): Promise<void>;
  stop(): void;
}

export function createPolledFeed<T>(opts: {
  /** Reads the database, updates the owner's set, returns the items new to this instance. */
  read: () => Promise<readonly T[]>;
  pollMs: number;
  logger?: Logger;
  /** Log messages: a listener threw; a timer poll failed. */
  messages: { listenerFailed: string; pollFailed: string };
}): PolledFeed<T> {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let queued: Promise<void> | undefined;
  let stopped = false;
  const listeners = new Set<(items: readonly T[]) => void>();

  function notify(items: readonly T[]) {
    if (items.length === 0) return;
    for (const listener of listeners) {
      try {
        listener(items);
      } catch (err) {
        opts.logger?.error(
          { err: { message: (err as Error).message } },
          opts.messages.listenerFailed,
        );
      }
    }
  }

  function run(): Promise<void> {
    running = opts
      .read()
      .then(notify)
      .finally(() => {
        running = undefined;
      });
    return running;
  }

  function poll(): Promise<void> {
    // Checked first: between a read's end and the start of the one queued behind it, nothing
    // runs, and a read begun here would run beside the queued one.
    if (queued) return queued;
    if (!running) return run();
    // The read under way may have begun before what this caller needs to see.
    queued = running
      .catch(() => {})
      .then(() => {
        queued = undefined;
        // Stopped meanwhile: the owner is shutting down; nothing more is read.
        return stopped ? undefined : run();
      });
    return queued;
  }

  return {
    notify,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    poll,
    async start() {
      stopped = false;
      await poll();
      timer = setInterval(() => {
        // A slow database: the read under way (or queued) is this turn's; none piles up.
        if (running || queued) return;
        poll().catch((err) =>
          opts.logger?.warn({ err: { message: err.message } }, opts.messages.pollFailed),
        );
      }, opts.pollMs);
      timer.unref();
    },
    stop() {
      stopped = true;
      if (timer) clearInterval(timer);
    },
  };
}
