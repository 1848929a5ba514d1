// Work that follows a request but must not hold up its answer (the new-device check and its
// notice after a login): queued here, run a few at a time, and awaited at shutdown.
//
// Invariants:
// - A task never fails the request that queued it: enqueue() only queues; whatever a task
//   throws is logged (its message only) and dropped.
// - Nothing is lost at a graceful shutdown: close() stops new work and resolves once every task
//   queued before it has finished, so it runs before the database and the mailer close.
// - Tests await idle() instead of timing: it resolves when nothing is queued or running.
import type { Logger } from 'pino';

export interface Background {
  /** Queue `task` to run after the current work, off the caller's path. Never throws. */
  enqueue(name: string, task: () => Promise<void> | void): void;
  /** Resolves when no task is queued or running (including tasks queued by tasks). */
  idle(): Promise<void>;
  /** Refuses later tasks (logged and dropped), then resolves once the queued ones are done. */
  close(): Promise<void>;
}

/** Tasks running at once; the rest wait in the queue. */
const CONCURRENCY = 4;
/** Tasks held at most: beyond this a flood would exhaust memory, so new ones are dropped. */
const MAX_QUEUE = 10_000;

export function createBackground(
  options: { logger?: Logger; concurrency?: number; maxQueue?: number } = {},
): Background {
  const concurrency = Math.max(1, options.concurrency ?? CONCURRENCY);
  const maxQueue = options.maxQueue ?? MAX_QUEUE;
  const queue: { name: string; task: () => Promise<void> | void }[] = [];
  let active = 0;
  let closed = false;
  let idleWaiters: (() => void)[] = [];

  function settleIfIdle(): void {
    if (active > 0 || queue.length > 0 || idleWaiters.length === 0) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const w of waiters) w();
  }

  function pump(): void {
    while (active < concurrency && queue.length > 0) {
      const { name, task } = queue.shift()!;
      active++;
      // Started on a later tick: the caller's answer goes out first.
      setImmediate(async () => {
        try {
          await task();
        } catch (err) {
          options.logger?.warn(
            { task: name, err: { message: (err as Error)?.message ?? String(err) } },
            'background task failed',
          );
        } finally {
          active--;
          pump();
          settleIfIdle();
        }
      });
    }
  }

  function idle(): Promise<void> {
    if (active === 0 && queue.length === 0) return Promise.resolve();
    return new Promise<void>((resolve) => idleWaiters.push(resolve));
  }

  return {
    enqueue(name, task) {
      if (closed || queue.length >= maxQueue) {
        options.logger?.error(
          { task: name },
          closed ? 'shutting down: background task dropped' : 'background queue full: task dropped',
        );
        return;
      }
      queue.push({ name, task });
      pump();
    },
    idle,
    async close() {
      closed = true;
      await idle();
    },
  };
}
