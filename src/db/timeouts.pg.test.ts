// A lock held elsewhere (an operator's open transaction, a stuck client) must not queue requests
// behind it until the pool runs dry: the server cancels a request's statement after
// DATABASE_LOCK_TIMEOUT_MS and the request answers 503 database_busy, its connection fit for the
// next one. Migrations are exempt: a start waits for the lock it needs. Runs only with
// DATABASE_URL (PGlite runs one transaction at a time: nothing else can hold a lock there).
import { CompiledQuery } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../app.ts';
import { as, headerAuthenticator, testConfig } from '../test/app.ts';
import { createTestDatabase, type TestDatabase } from '../test/db.ts';
import { createTeam } from '../test/factories.ts';
import { undoMigrationsFrom } from '../test/migration-undo.ts';
import { type Database, openDatabase } from './database.ts';
import { migrateToLatest } from './migrate.ts';

const LOCK_TIMEOUT = '150';

let real: TestDatabase;
let database: Database;
let app: Awaited<ReturnType<typeof buildApp>>;
let headers: Record<string, string>;

/** The app's own way of opening the database: the pool from config, as main.ts does. */
function configFor(url: string) {
  return testConfig({
    DATABASE_URL: url,
    DATABASE_POOL_SIZE: '2',
    DATABASE_LOCK_TIMEOUT_MS: LOCK_TIMEOUT,
  });
}

beforeAll(async () => {
  real = await createTestDatabase();
  const team = await createTeam(real);
  headers = as(team.owner, team.org, 'owner');
  const config = configFor(real.url!);
  database = await openDatabase(config);
  app = await buildApp(config, {
    database,
    // Test-only header identity (src/test/app.ts).
    authenticate: headerAuthenticator,
  });
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await database?.close();
  await real?.close();
});

/** Whether some backend of the database has waited for a lock for longer than `ms`. */
async function waitingLongerThan(c: pg.Client, ms: number): Promise<boolean> {
  const r = await c.query(
    `SELECT 1 FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock'
        AND clock_timestamp() - query_start > $1::int * interval '1 millisecond'`,
    [ms],
  );
  return (r.rowCount ?? 0) > 0;
}

/** A transaction of its own holding `lock` until release() (as the database owner). */
async function holding(url: string, lock: string) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query('BEGIN');
  await c.query(lock);
  return {
    client: c,
    release: async () => {
      await c.query('ROLLBACK');
      await c.end();
    },
  };
}

describe('statement and lock timeouts (PostgreSQL)', () => {
  it('a request behind a lock held elsewhere answers 503 database_busy; the pool serves on', async () => {
    const list = () => app.inject({ url: '/api/prompts', headers });
    expect((await list()).statusCode).toBe(200);
    const lock = await holding(real.url!, 'LOCK TABLE prompts IN ACCESS EXCLUSIVE MODE');
    try {
      // Both pooled connections run into the lock, so neither is kept waiting behind it.
      const answers = await Promise.all([list(), list()]);
      for (const res of answers) {
        expect(res.statusCode, res.body).toBe(503);
        expect(res.headers['content-type']).toMatch(/problem\+json/);
        expect(res.headers['retry-after']).toBe('2');
        expect(res.json()).toMatchObject({ code: 'database_busy' });
      }
      // A write too: nothing of it is applied.
      const write = await app.inject({
        method: 'POST',
        url: '/api/prompts',
        headers,
        payload: { name: 'behind the lock', content: 'x' },
      });
      expect(write.statusCode, write.body).toBe(503);
    } finally {
      await lock.release();
    }
    const after = await list();
    expect(after.statusCode).toBe(200);
    expect(after.json().items.map((p: { name: string }) => p.name)).not.toContain(
      'behind the lock',
    );
  });

  it('a migration waits for the lock it needs; every pooled session keeps the request limits', async () => {
    // A database behind from 0022 on: 0022 alters voice_sessions (an exclusive table lock). The
    // migrator runs only what follows the last migration applied, so every later one is undone
    // too (src/test/migration-undo.ts).
    const behind = await createTestDatabase();
    await undoMigrationsFrom(behind.url!, '2026_12_02_0022');
    const fresh = await openDatabase(configFor(behind.url!));
    try {
      // A long read of the table is under way when the server starts.
      const reader = await holding(behind.url!, 'SELECT count(*) FROM voice_sessions');
      let migrated: Promise<string[]> | undefined;
      // Activity is read from a session of its own: inside a transaction it is a snapshot.
      const watcher = new pg.Client({ connectionString: behind.url! });
      await watcher.connect();
      try {
        migrated = migrateToLatest(fresh.db);
        migrated.catch(() => {});
        // The migration waits for the lock, and keeps waiting past the requests' lock timeout.
        let waited = false;
        for (let i = 0; i < 400 && !waited; i++) {
          waited = await waitingLongerThan(watcher, 4 * Number(LOCK_TIMEOUT));
          if (!waited) await new Promise((r) => setTimeout(r, 25));
        }
        expect(waited).toBe(true);
      } finally {
        await watcher.end();
        await reader.release();
      }
      expect(await migrated).toEqual([
        '2026_12_02_0022_voice_session_participant_sid',
        '2026_12_02_0023_twilio_account_lock',
        '2026_12_04_0024_voice_session_room_sid',
        '2026_12_04_0025_signing_key_withdrawal',
        '2026_12_04_0026_prompt_org_keys',
        '2026_12_04_0027_scheduled_call_window_deferral',
        '2026_12_05_0028_preferences_leave_with_member',
        '2026_12_05_0029_preferences_delete_on_removal_only',
        '2026_12_05_0030_invitation_one_open_per_address',
      ]);
      // Both pooled sessions (the migration's among them) carry the request limit again.
      const shown = await Promise.all(
        [0, 1].map(() =>
          fresh.session((conn) => conn.flight([CompiledQuery.raw('show lock_timeout')])),
        ),
      );
      for (const r of shown) expect(r.rows).toEqual([{ lock_timeout: `${LOCK_TIMEOUT}ms` }]);
    } finally {
      await fresh.close();
      await behind.close();
    }
  });
});
