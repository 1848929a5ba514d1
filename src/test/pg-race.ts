// Races on PostgreSQL (*.pg.test.ts only: PGlite runs one transaction at a time, so nothing can
// interleave there). An act (a removal, a suspension, a disable…) holds its row locks in a real
// open transaction of its own while a request runs into them; once the request waits on them
// (or, without the locks under test, has already answered), the act commits and the request's
// answer must respect it. Nothing is timed: the request is seen waiting in pg_stat_activity.
import pg from 'pg';
import type { TestApp } from './app.ts';

export type Query = (text: string, values?: unknown[]) => Promise<pg.QueryResult>;
/** Statements of an act, run in its open transaction (as the database owner: no RLS). */
export type Act = (q: Query) => Promise<void>;

/** The race helpers over the database of the app `get()` answers (read at each call). */
export function pgRaces(get: () => TestApp) {
  const url = () => {
    const u = get().database.url;
    if (!u) throw new Error('race tests need DATABASE_URL (a PostgreSQL server)');
    return u;
  };

  /** A transaction of its own, open until commit() or rollback(). */
  async function openAct() {
    const c = new pg.Client({ connectionString: url() });
    await c.connect();
    await c.query('BEGIN').catch(async (err) => {
      await c.end();
      throw err;
    });
    const end = async (how: 'COMMIT' | 'ROLLBACK') => {
      try {
        await c.query(how);
      } finally {
        await c.end();
      }
    };
    return {
      q: ((text: string, values: unknown[] = []) => c.query(text, values)) as Query,
      commit: () => end('COMMIT'),
      rollback: () => end('ROLLBACK'),
    };
  }

  /**
   * Resolves 'waiting' once `waiters` backends of this database (one unless told) wait for a lock,
   * or 'answered' once `answer` has settled without that (the request never ran into the locks).
   */
  async function someoneWaitsForALock(
    answer: Promise<unknown>,
    waiters = 1,
  ): Promise<'waiting' | 'answered'> {
    let settled = false;
    const done = () => {
      settled = true;
    };
    answer.then(done, done);
    const c = new pg.Client({ connectionString: url() });
    await c.connect();
    try {
      for (let i = 0; i < 400; i++) {
        const r = await c.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        );
        if (r.rows[0].n >= waiters) return 'waiting';
        if (settled) return 'answered';
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      throw new Error(`never ${waiters} backend(s) waiting for a lock`);
    } finally {
      await c.end();
    }
  }

  /**
   * Runs `request` while `act` holds its locks: once the request waits on them (or has already
   * answered), `then` (if given) runs more of the act in the same transaction, and the act
   * commits; returns the request's answer. A failing act is rolled back and its error thrown.
   */
  async function during<R>(act: Act, request: () => Promise<R>, then?: Act): Promise<R> {
    const tx = await openAct();
    const failed = async (err: unknown, answer?: Promise<R>) => {
      await tx.rollback().catch(() => {});
      await answer?.catch(() => {});
      return err;
    };
    try {
      await act(tx.q);
    } catch (err) {
      throw await failed(err);
    }
    const answer = request();
    try {
      await someoneWaitsForALock(answer);
      if (then) await then(tx.q);
    } catch (err) {
      throw await failed(err, answer);
    }
    await tx.commit();
    return answer;
  }

  return { openAct, someoneWaitsForALock, during };
}
