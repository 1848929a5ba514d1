// The embedded driver's flights (src/db/pglite.ts): a prepared statement is described once, on
// its first run, and later answers are read with the columns remembered then — the same rows,
// the same types — until the statement goes stale, when it is described afresh.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { CompiledQuery } from 'kysely';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCK_FILE_NAME } from './data-dir-lock.ts';
import type { Database } from './database.ts';
import { migrateToLatest } from './migrate.ts';
import { migrations } from './migrations/index.ts';
import { databaseFromPGlite, openEmbeddedDatabase } from './pglite.ts';

let pglite: PGlite;
let database: Database;
/** The frontend message types of every flight sent, in order (e.g. "BDES" for Bind, Describe…). */
const sent: string[] = [];

function messageTypes(bytes: Uint8Array): string {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let types = '';
  for (let at = 0; at < bytes.length; at += 1 + view.getInt32(at + 1)) {
    types += String.fromCharCode(bytes[at]!);
  }
  return types;
}

beforeAll(async () => {
  pglite = await PGlite.create();
  await pglite.exec(`
    CREATE TABLE things (id int PRIMARY KEY, name text NOT NULL, at timestamptz NOT NULL, ok boolean);
    INSERT INTO things VALUES (1, 'one', '2026-12-01T00:00:00Z', true), (2, 'two', '2026-12-01T00:00:01Z', null);
  `);
  const execProtocol = pglite.execProtocol.bind(pglite);
  pglite.execProtocol = (message, options) => {
    sent.push(messageTypes(message));
    return execProtocol(message, options);
  };
  database = databaseFromPGlite(pglite);
});
afterAll(() => database.close());

const select = (id: number) =>
  CompiledQuery.raw('select * from things where id <= $1 order by id', [id]);
const flight = (statements: CompiledQuery[]) => database.session((conn) => conn.flight(statements));

describe('the embedded driver', () => {
  it('describes a prepared statement once and reads later answers with its remembered columns', async () => {
    sent.length = 0;
    const first = await flight([select(2)]);
    const second = await flight([select(2)]);
    const third = await flight([select(1)]);
    // Parse, Bind, Describe, Execute, Sync; then Bind, Execute, Sync only.
    expect(sent).toEqual(['PBDES', 'BES', 'BES']);
    const rows = [
      { id: 1, name: 'one', at: new Date('2026-12-01T00:00:00Z'), ok: true },
      { id: 2, name: 'two', at: new Date('2026-12-01T00:00:01Z'), ok: null },
    ];
    expect(first.rows).toEqual(rows);
    expect(second.rows).toEqual(rows);
    expect(third.rows).toEqual(rows.slice(0, 1));
  });

  it('describes the statement a flight ends with, whatever ran before it in the flight', async () => {
    const other = CompiledQuery.raw('select name from things where id = $1', [2]);
    sent.length = 0;
    const a = await flight([select(1), other]);
    const b = await flight([select(1), other]);
    expect(sent).toEqual(['BEPBDES', 'BEBES']);
    expect(a.rows).toEqual([{ name: 'two' }]);
    expect(b.rows).toEqual([{ name: 'two' }]);
  });

  it('describes afresh once a table changed shape under a prepared statement', async () => {
    await flight([select(2)]);
    await pglite.exec(`ALTER TABLE things ADD COLUMN note text DEFAULT 'n'`);
    // The server refuses the old statement; the session forgets its names and columns.
    await expect(flight([select(2)])).rejects.toThrow(/cached plan must not change result type/);
    sent.length = 0;
    const after = await flight([select(1)]);
    const again = await flight([select(1)]);
    expect(sent).toEqual(['PBDES', 'BES']);
    const row = { id: 1, name: 'one', at: new Date('2026-12-01T00:00:00Z'), ok: true, note: 'n' };
    expect(after.rows).toEqual([row]);
    expect(again.rows).toEqual([row]);
  });
});

describe('closing the embedded database', () => {
  it('closes PGlite even when only sessions used it (Kysely never ran a statement)', async () => {
    const own = await PGlite.create();
    const opened = databaseFromPGlite(own);
    await opened.session((conn) => conn.flight([CompiledQuery.raw('select 1')]));
    await opened.close();
    expect(own.closed).toBe(true);
    // A second close is a no-op, not a "PGlite is closed" error.
    await opened.close();
  });
});

describe('an embedded database closing', () => {
  it('lets the sessions already holding or waiting finish, then closes, and refuses later ones', async () => {
    const own = await PGlite.create();
    const opened = databaseFromPGlite(own);
    let go!: () => void;
    const holding = opened.session(async (conn) => {
      await new Promise<void>((resolve) => {
        go = resolve;
      });
      return (await conn.flight([CompiledQuery.raw('select 1 as one')])).rows;
    });
    const waiting = opened.session(
      async (conn) => (await conn.flight([CompiledQuery.raw('select 2 as two')])).rows,
    );
    await new Promise((resolve) => setImmediate(resolve));
    const closing = opened.close();
    // close() reaches the driver once the analyser and Kysely have let go (promise steps only).
    await new Promise((resolve) => setImmediate(resolve));
    // PGlite used after its close() spins instead of failing: the driver refuses first.
    await expect(
      opened.session((conn) => conn.flight([CompiledQuery.raw('select 3')])),
    ).rejects.toThrow('the embedded database is closed');
    expect(own.closed).toBe(false);
    go();
    expect(await holding).toEqual([{ one: 1 }]);
    expect(await waiting).toEqual([{ two: 2 }]);
    await closing;
    expect(own.closed).toBe(true);
  });
});

describe('creating the embedded database in an empty DATA_DIR', () => {
  const roots: string[] = [];
  afterAll(() => {
    for (const d of roots) rmSync(d, { recursive: true, force: true });
  });
  const emptyDataDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'sb-initdb-'));
    roots.push(d);
    return d;
  };

  it('creates and migrates the cluster, its set-up process named in the lock, then opens it as a restart would', async () => {
    const dir = emptyDataDir();
    const lockFile = join(dir, 'pgdata', LOCK_FILE_NAME);
    const helpers = new Set<number>();
    const lines: { msg: string; applied?: string[] }[] = [];
    const logger = pino(
      { level: 'info' },
      { write: (line: string) => lines.push(JSON.parse(line)) },
    );
    const opening = openEmbeddedDatabase(dir, logger);
    let settled = false;
    const done = () => {
      settled = true;
    };
    opening.then(done, done);
    // While the set-up runs, the lock names its process (data-dir-lock.ts: helper_pid).
    while (!settled) {
      const raw = existsSync(lockFile) ? readFileSync(lockFile, 'utf8') : '';
      const helper = raw ? (JSON.parse(raw) as { helper_pid?: number }).helper_pid : undefined;
      if (helper) helpers.add(helper);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const opened = await opening;
    try {
      expect(helpers.size).toBe(1);
      expect([...helpers][0]).not.toBe(process.pid);
      // Once the set-up has ended, the lock is the server's alone again.
      expect(JSON.parse(readFileSync(lockFile, 'utf8'))).toEqual(
        expect.not.objectContaining({ helper_pid: expect.anything() }),
      );
      expect(existsSync(join(dir, 'pgdata', 'PG_VERSION'))).toBe(true);
      const answer = await opened.session((conn) =>
        conn.flight([CompiledQuery.raw('show shared_buffers')]),
      );
      // The set-up wrote the embedded server's memory settings into the cluster.
      expect(answer.rows).toEqual([{ shared_buffers: '16MB' }]);
      // And ran every migration there (the server's own call finds nothing left to do), naming
      // them in the server's log as a migration in process would have.
      const all = Object.keys(migrations);
      expect(lines.filter((l) => l.msg === 'migrations applied')).toEqual([
        expect.objectContaining({ applied: all }),
      ]);
      expect(await migrateToLatest(opened.db)).toEqual([]);
    } finally {
      await opened.close();
    }
  });

  it("sets up without the server's NODE_OPTIONS (a preloaded agent, a debugger's port)", async () => {
    const dir = emptyDataDir();
    const before = process.env.NODE_OPTIONS;
    // A module only this process could load: a child that inherited it would fail to start.
    process.env.NODE_OPTIONS = `--require ${join(dir, 'server-only-agent.cjs')}`;
    let opened: Database | undefined;
    try {
      opened = await openEmbeddedDatabase(dir);
    } finally {
      if (before === undefined) delete process.env.NODE_OPTIONS;
      else process.env.NODE_OPTIONS = before;
    }
    try {
      expect(await migrateToLatest(opened.db)).toEqual([]);
    } finally {
      await opened.close();
    }
  });

  it('names what failed and where, and releases the directory for the next attempt', async () => {
    const dir = emptyDataDir();
    // initdb must create base/ as a directory: a file in its way makes it fail.
    mkdirSync(join(dir, 'pgdata'));
    writeFileSync(join(dir, 'pgdata', 'base'), 'in the way');
    const failure = `the embedded database could not be set up in ${join(dir, 'pgdata')}: ErrnoError (errno 54)`;
    await expect(openEmbeddedDatabase(dir)).rejects.toThrow(failure);
    // Not "locked by this process": the failed attempt let go of the data directory.
    await expect(openEmbeddedDatabase(dir)).rejects.toThrow(failure);
    // Two set-ups, each a whole initdb before it fails: 18-19 s apiece on Node 24 under a loaded
    // machine, past the suite's default of 30 s for the test.
  }, 120_000);
});
