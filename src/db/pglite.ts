// The embedded database: PGlite (PostgreSQL compiled to WebAssembly) in DATA_DIR, behind the same
// Database interface as the `pg` pool (database.ts). Its own module, loaded only when no
// DATABASE_URL is set: a server on PostgreSQL never loads PGlite.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite, protocol, types } from '@electric-sql/pglite';
import { CompiledQuery, Kysely, type QueryResult, sql } from 'kysely';
import type { Logger } from 'pino';
import { type DataDirLock, lockDataDir } from './data-dir-lock.ts';
import {
  BaseDriver,
  BrokenConnection,
  bindTo,
  type Connection,
  type Database,
  dialect,
  isStalePlan,
  once,
  PreparedStatements,
  prepareValue,
  runFlight,
  type Step,
} from './database.ts';
import { type AutoAnalyze, autoAnalyze } from './embedded-analyze.ts';
import { encodeFlight } from './flight-messages.ts';
import { installAnswerParser } from './pglite-answers.ts';
import type { DB } from './schema.ts';

interface PGliteResult {
  rows: unknown[];
  affectedRows?: number;
}

const pgliteResult = (r: PGliteResult | undefined) =>
  ({
    numAffectedRows: r?.affectedRows ? BigInt(r.affectedRows) : undefined,
    rows: r?.rows ?? [],
  }) as QueryResult<never>;

type BackendMessage = Awaited<ReturnType<PGlite['execProtocol']>>['messages'][number];
type Parsers = PGlite['parsers'];

/** The columns of a statement's answer, as its RowDescription names them. */
type Columns = readonly { name: string; dataTypeID: number }[];

/**
 * The rows and row count of one statement's answer messages (from `from` on), each value read by
 * PGlite's type parser for its column type: the columns come from the answer's RowDescription, or
 * from `columns` when the statement was not described this time. Not PGlite's parseResults: that
 * copies the whole parser table (every type PGlite knows) into a fresh object on each call, which
 * was an eighth of the server's time under GET /auth/me on the embedded database.
 */
function readResult(
  messages: readonly BackendMessage[],
  from: number,
  parsers: Parsers,
  columns: Columns,
): PGliteResult & { columns: Columns } {
  let fields = columns;
  const rows: Record<string, unknown>[] = [];
  let affectedRows = 0;
  for (let at = from; at < messages.length; at++) {
    const m = messages[at]!;
    if (m instanceof protocol.messages.RowDescriptionMessage) fields = m.fields;
    else if (m instanceof protocol.messages.DataRowMessage) {
      // Column names come from the statement's own SQL, never from a caller.
      const row: Record<string, unknown> = {};
      for (let i = 0; i < fields.length; i++) {
        const f = fields[i]!;
        row[f.name] = types.parseType(m.fields[i] ?? null, f.dataTypeID, parsers);
      }
      rows.push(row);
    } else if (m instanceof protocol.messages.CommandCompleteMessage) {
      affectedRows = rowCount(m.text);
    }
  }
  return { rows, affectedRows, columns: fields };
}

const COUNTED = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE', 'COPY']);

/**
 * The rows a CommandComplete tag reports written (`INSERT 0 3`, `UPDATE 2`, …: the count is the
 * tag's last word); 0 for the others (`SELECT 20` counts rows read, not written).
 */
export function rowCount(tag: string): number {
  const space = tag.indexOf(' ');
  if (space < 0 || !COUNTED.has(tag.slice(0, space))) return 0;
  return Number.parseInt(tag.slice(tag.lastIndexOf(' ') + 1), 10) || 0;
}

/**
 * PGlite's one session. Its query() sends each statement with its own Sync (own implicit
 * transaction), so a flight is written as raw protocol messages (encodeFlight) through
 * execProtocol(), which PGlite runs in one call into the WebAssembly backend; its answers are
 * parsed with PGlite's own type parsers. Calls are chained: execProtocol() keeps per-call state and must not interleave.
 */
class PGliteConnection implements Connection {
  #last: Promise<unknown> = Promise.resolve();
  readonly #prepared = new PreparedStatements();
  /**
   * The answer columns of each statement prepared on the session, by statement name. A prepared
   * statement's columns cannot change (PostgreSQL refuses to run it once its tables changed
   * shape: isStalePlan, and then every name is forgotten, these with them), so it is described
   * once, when first run: PGlite's protocol parser, which every answer passes through, took
   * about 20 µs to read a RowDescription (a third of a one-row read).
   */
  readonly #columns = new Map<string, Columns>();

  /** Hears the rows each answered statement wrote (embedded-analyze.ts); unset, none are counted. */
  onWritten: ((rows: number) => void) | undefined;

  constructor(private readonly pglite: PGlite) {}

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#last.then(fn, fn);
    this.#last = run.catch(() => {});
    return run;
  }

  executeQuery<R>(q: CompiledQuery): Promise<QueryResult<R>> {
    return this.#serial(async () => {
      if (q.parameters.length > 0) {
        const result = await this.pglite.query(q.sql, [...q.parameters]);
        this.onWritten?.(result.affectedRows ?? 0);
        return pgliteResult(result);
      }
      // Parameterless SQL (migrations) may hold several statements: the simple protocol.
      const results = await this.pglite.exec(q.sql);
      this.onWritten?.(results.reduce((sum, r) => sum + (r.affectedRows ?? 0), 0));
      return pgliteResult(results[results.length - 1]);
    });
  }

  flight(statements: readonly CompiledQuery[]): Promise<QueryResult<unknown>> {
    // Planned inside the chain: the cache must see the previous flight's outcome.
    return this.#serial(() =>
      runFlight(this.#prepared, statements, (steps) => this.#send(statements, steps)).catch(
        (err) => {
          if (isStalePlan(err)) this.#columns.clear();
          throw err;
        },
      ),
    );
  }

  async #send(statements: readonly CompiledQuery[], steps: readonly Step[]) {
    const last = steps[steps.length - 1]!;
    // Only the last statement's answer is read; an unnamed one is parsed afresh, so described.
    const known = last.name && !last.parse ? this.#columns.get(last.name) : undefined;
    const { messages } = await this.pglite.execProtocol(
      encodeFlight(
        // Fields listed, not spread: under V8 11 (Node 20) `{ ...step, more }` builds each object
        // through the runtime, microseconds per statement (ARCHITECTURE.md, Performance).
        statements.map((s, i) => ({
          name: steps[i]!.name,
          parse: steps[i]!.parse,
          sql: s.sql,
          values: s.parameters.map((v) => prepareValue(v) as string | Uint8Array | null),
          describe: i === statements.length - 1 && !known,
        })),
      ),
    );
    // Answers of the statements before the last end with their commandComplete: skip them
    // (counting what they wrote, when someone listens).
    let skip = statements.length - 1;
    let from = 0;
    let written = 0;
    while (skip > 0 && from < messages.length) {
      const m = messages[from]!;
      if (m instanceof protocol.messages.CommandCompleteMessage) {
        skip--;
        if (this.onWritten) written += rowCount(m.text);
      }
      from++;
    }
    const result = readResult(messages, from, this.pglite.parsers, known ?? []);
    // Recorded once the flight succeeded (execProtocol throws on an error answer).
    if (!known && last.name) this.#columns.set(last.name, result.columns);
    this.onWritten?.(written + (result.affectedRows ?? 0));
    return pgliteResult(result);
  }

  // biome-ignore lint/correctness/useYield: streaming is not used; refuse it loudly.
  async *streamQuery(): AsyncIterableIterator<QueryResult<never>> {
    throw new Error('streaming queries are not supported');
  }
}

/**
 * One connection, lent to one holder at a time (PGlite is a single session). Closing refuses new
 * holders, lets those already holding or waiting finish, then closes PGlite: a PGlite used after
 * its close() does not fail, its backend spins forever (a write-behind that came late hung a
 * test worker at full CPU), so nothing may reach it once it is closing.
 */
class PGliteDriver extends BaseDriver {
  readonly conn: PGliteConnection;
  #busy = false;
  #waiting: (() => void)[] = [];
  #closing = false;
  #drained: (() => void) | undefined;

  constructor(private readonly pglite: PGlite) {
    super();
    this.conn = new PGliteConnection(pglite);
  }

  async acquireConnection() {
    if (this.#closing) throw new Error('the embedded database is closed');
    if (this.#busy) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#busy = true;
    return this.conn;
  }

  async releaseConnection() {
    const next = this.#waiting.shift();
    if (next) next();
    else {
      this.#busy = false;
      this.#drained?.();
    }
  }

  readonly #close = once(async () => {
    this.#closing = true;
    if (this.#busy) await new Promise<void>((resolve) => (this.#drained = resolve));
    await this.pglite.close();
  });
  override destroy() {
    return this.#close();
  }
}

const analyzers = new WeakMap<Database, AutoAnalyze>();

/** The tables' rows by the planner's statistics (what ANALYZE just counted). */
const TABLE_ROWS = CompiledQuery.raw(
  `select coalesce(sum(reltuples), 0)::float8 as rows from pg_class
    where relkind = 'r' and reltuples > 0 and relnamespace = current_schema()::regnamespace`,
);

/** Whether a table holds rows (its heap has pages) but was never analysed (reltuples -1). */
const NEVER_ANALYSED = CompiledQuery.raw(
  `select exists (select from pg_class
    where relkind = 'r' and reltuples < 0 and relnamespace = current_schema()::regnamespace
      and pg_relation_size(oid) > 0) as never`,
);

export interface EmbeddedOptions {
  /** ANALYZE as rows are written (embedded-analyze.ts): what a server's autovacuum does. */
  autoAnalyze?: boolean;
  logger?: Logger;
}

export function databaseFromPGlite(pglite: PGlite, options: EmbeddedOptions = {}): Database {
  installAnswerParser();
  const driver = new PGliteDriver(pglite);
  const db = new Kysely<DB>({ dialect: dialect(() => driver) });
  const database: Database = {
    kind: 'pglite',
    db,
    async session(fn) {
      const conn = (await driver.acquireConnection()) as PGliteConnection;
      try {
        return await fn(conn);
      } catch (err) {
        // One in-process session: it cannot be replaced; whoever broke it already rolled back.
        throw err instanceof BrokenConnection ? err.reason : err;
      } finally {
        await driver.releaseConnection();
      }
    },
    bind: bindTo,
    async ping() {
      await sql`select 1`.execute(db);
    },
    async close() {
      await analyzers.get(database)?.stop();
      await db.destroy();
      await driver.destroy();
    },
  };
  if (options.autoAnalyze) {
    const running = autoAnalyze(
      () =>
        database.session(async (conn) => {
          await conn.executeQuery(CompiledQuery.raw('analyze'));
          const { rows } = await conn.executeQuery<{ rows: number }>(TABLE_ROWS);
          return Number(rows[0]?.rows ?? 0);
        }),
      (err, step) =>
        options.logger?.warn(
          { err },
          step === 'check'
            ? 'embedded database: the check for tables never analysed failed'
            : 'embedded database: ANALYZE failed',
        ),
      () =>
        database.session(async (conn) => {
          const { rows } = await conn.executeQuery<{ never: boolean }>(NEVER_ANALYSED);
          return rows[0]?.never === true;
        }),
    );
    analyzers.set(database, running);
    driver.conn.onWritten = (rows) => running.written(rows);
  }
  return database;
}

/** The AutoAnalyze of an embedded database opened with `autoAnalyze` (tests wait on it). */
export function analyzerOf(database: Database): AutoAnalyze | undefined {
  return analyzers.get(database);
}

/**
 * Memory settings of the embedded server. PGlite starts PostgreSQL with its stock 128 MB of
 * shared buffers, all of it inside the process's WebAssembly heap; an embedded Switchboard's
 * working set is a few MB, so 16 MB of buffers (the files stay in the OS page cache behind them)
 * cuts the resident set by ~140 MB and the start by the time it took to set that heap up.
 */
export const EMBEDDED_POSTGRES_CONF = [
  'shared_buffers=16MB',
  'temp_buffers=2MB',
  'work_mem=2MB',
  'maintenance_work_mem=16MB',
];

/**
 * Sets up an empty embedded data directory (PGlite's initdb, then every migration) in a child
 * process that then exits (embedded-setup.ts says why), and returns the migrations it applied.
 * PGlite builds the cluster in memory and writes its files at the end (a set-up killed 1.0-2.2 s
 * into its initdb had written none), so the next start sets up again. A server killed alone
 * during its first start does not stop the child, which goes on writing the folder: the data-dir
 * lock names the child as its helper while it runs, so the lock stays live until both are gone
 * and no second set-up starts beside it.
 */
async function setUpEmbeddedCluster(dir: string, lock: DataDirLock): Promise<string[]> {
  // The set-up module beside this one, as this process runs it: compiled JavaScript in
  // production (dist/), TypeScript under tsx or the test runner, where the child needs tsx's loader.
  const ext = extname(import.meta.url);
  const setUp = new URL(`./embedded-setup${ext}`, import.meta.url);
  const loader = ext === '.ts' ? ['--import', import.meta.resolve('tsx')] : [];
  return new Promise<string[]>((resolve, reject) => {
    // The server's own node flags (a debugger's port, a heap limit, an agent preloaded with
    // --require) are not the child's: neither its argv nor NODE_OPTIONS is passed on.
    const { NODE_OPTIONS: _, ...env } = process.env;
    const child = spawn(process.execPath, [...loader, fileURLToPath(setUp), dir], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-2000);
    });
    if (child.pid) lock.setHelper(child.pid);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      try {
        lock.setHelper(null);
      } catch {
        // The lock keeps the helper's pid, now dead: stale once the server is gone too.
      }
      if (code === 0) {
        try {
          return resolve((JSON.parse(stdout) as { applied: string[] }).applied);
        } catch {
          stderr ||= `set-up answered ${JSON.stringify(stdout.slice(0, 200))}`;
        }
      }
      const why = stderr.trim() || `set-up exited with ${signal ?? code}`;
      reject(new Error(`the embedded database could not be set up in ${dir}: ${why}`));
    });
  });
}

/**
 * The embedded database of DATA_DIR, created and migrated on first use, locked against a second
 * process.
 */
export async function openEmbeddedDatabase(dataDir: string, logger?: Logger): Promise<Database> {
  const dir = join(dataDir, 'pgdata');
  mkdirSync(dir, { recursive: true });
  // Before PGlite reads anything: a second process would work on its own copy and lose writes.
  const lock = lockDataDir(dir);
  let database: Database;
  try {
    if (!existsSync(join(dir, 'PG_VERSION'))) {
      const applied = await setUpEmbeddedCluster(dir, lock);
      logger?.info({ applied }, 'migrations applied');
    }
    database = databaseFromPGlite(
      await PGlite.create({ dataDir: dir, postgresqlconf: EMBEDDED_POSTGRES_CONF }),
      { autoAnalyze: true, logger },
    );
  } catch (err) {
    lock.release();
    throw err;
  }
  return {
    ...database,
    async close() {
      try {
        await database.close();
      } finally {
        lock.release();
      }
    },
  };
}
