import { describe, expect, it } from 'vitest';
import { createBackground } from './background.ts';

/** A logger that records what it was asked to log. */
function recordingLogger() {
  const lines: { level: string; obj: unknown; msg: string }[] = [];
  const at =
    (level: string) =>
    (obj: unknown, msg: string): void => {
      lines.push({ level, obj, msg });
    };
  return { lines, logger: { warn: at('warn'), error: at('error') } as never };
}

/** A promise and the function that resolves it. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => {
    open = r;
  });
  return { open, opened };
}

describe('background tasks', () => {
  it('run after enqueue returns, and idle() resolves once they (and tasks they queue) are done', async () => {
    const bg = createBackground();
    const done: string[] = [];
    bg.enqueue('a', async () => {
      done.push('a');
      bg.enqueue('b', () => {
        done.push('b');
      });
    });
    expect(done).toEqual([]);
    await bg.idle();
    expect(done).toEqual(['a', 'b']);
    await bg.idle();
  });

  it('a failing task is logged with its name and message, never thrown to the caller', async () => {
    const { lines, logger } = recordingLogger();
    const bg = createBackground({ logger });
    expect(() =>
      bg.enqueue('mail', async () => {
        throw new Error('smtp down');
      }),
    ).not.toThrow();
    bg.enqueue('sync', () => {
      throw new Error('bad render');
    });
    let after = false;
    bg.enqueue('next', () => {
      after = true;
    });
    await bg.idle();
    expect(after).toBe(true);
    expect(lines).toEqual([
      {
        level: 'warn',
        obj: { task: 'mail', err: { message: 'smtp down' } },
        msg: 'background task failed',
      },
      {
        level: 'warn',
        obj: { task: 'sync', err: { message: 'bad render' } },
        msg: 'background task failed',
      },
    ]);
  });

  it('runs at most `concurrency` tasks at once', async () => {
    const bg = createBackground({ concurrency: 2 });
    const g = gate();
    let running = 0;
    let most = 0;
    for (let i = 0; i < 6; i++)
      bg.enqueue(`t${i}`, async () => {
        running++;
        most = Math.max(most, running);
        await g.opened;
        running--;
      });
    const idle = bg.idle();
    // Let the first ones start and block on the gate.
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(running).toBe(2);
    g.open();
    await idle;
    expect(most).toBe(2);
  });

  it('close() waits for queued tasks, then refuses new ones (logged)', async () => {
    const { lines, logger } = recordingLogger();
    const bg = createBackground({ logger });
    const g = gate();
    let finished = false;
    bg.enqueue('slow', async () => {
      await g.opened;
      finished = true;
    });
    let closed = false;
    const closing = bg.close().then(() => {
      closed = true;
    });
    await new Promise((r) => setImmediate(r));
    expect(closed).toBe(false);
    g.open();
    await closing;
    expect(finished).toBe(true);
    let ran = false;
    bg.enqueue('late', () => {
      ran = true;
    });
    await bg.idle();
    expect(ran).toBe(false);
    expect(lines).toEqual([
      { level: 'error', obj: { task: 'late' }, msg: 'shutting down: background task dropped' },
    ]);
  });

  it('a full queue drops the new task (logged) instead of growing without bound', async () => {
    const { lines, logger } = recordingLogger();
    const bg = createBackground({ logger, concurrency: 1, maxQueue: 1 });
    const g = gate();
    bg.enqueue('running', () => g.opened);
    bg.enqueue('queued', () => {});
    bg.enqueue('dropped', () => {});
    g.open();
    await bg.idle();
    expect(lines).toEqual([
      { level: 'error', obj: { task: 'dropped' }, msg: 'background queue full: task dropped' },
    ]);
  });
});
