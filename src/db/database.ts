import {
  CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryResult,
  sql,
} from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { DB } from './schema.ts';

export type DatabaseKind = 'pglite' | 'postgres';

/** A checked-out connection that can also send a flight of statements. */
export interface Connection extends DatabaseConnection {
  /**
   * Send `statements` in one flight (extended protocol, one Sync): one round trip, and one
   * implicit transaction unless a BEGIN among them opens an explicit one. Values travel as bind
   * parameters. Resolves with the LAST statement's result (the others' rows are discarded);
   * rejects with the first error, after which the server has skipped the rest of the flight and
   * rolled back its implicit transaction (an explicit one is left aborted for the caller).
   * Statements with parameters are prepared on the session once and bound by name afterwards
   * (see {@link PreparedStatements}).
   */
  flight(statements: readonly CompiledQuery[]): Promise<QueryResult<unknown>>;
}

export interface Database {
  kind: DatabaseKind;
  db: Kysely<DB>;
  /**
   * Check a connection out for `fn`. When `fn` throws a {@link BrokenConnection} the connection
   * is destroyed instead of returned to the pool (its session state can no longer be trusted).
   */
  session<T>(fn: (conn: Connection) => Promise<T>): Promise<T>;
  /** A Kysely whose every statement goes through `conn` (one per tenant transaction). */
  bind(conn: DatabaseConnection): Kysely<DB>;
  /** Round trip to the database; throws when it is unreachable. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Thrown through {@link Database.session} to have the connection destroyed, not reused. */
export class BrokenConnection extends Error {
  constructor(readonly reason: unknown) {
    super('database connection left in an unknown state', { cause: reason });
  }
}

const adapter = new PostgresAdapter();
const compiler = new PostgresQueryCompiler();

export function dialect(driver: () => Driver): Dialect {
  return {
    createAdapter: () => adapter,
    createDriver: driver,
    createQueryCompiler: () => compiler,
    createIntrospector: (db) => new PostgresIntrospector(db),
  };
}

/**
 * `end` run at most once, however often the returned function is called (each call answers the
 * one run's promise). A database's close ends its pool or its PGlite itself, past Kysely: Kysely
 * initialises a driver lazily and its destroy() reaches the driver only if Kysely itself ever ran
 * a statement, while every tenant transaction checks its connection out through `session`, past
 * Kysely, so a database used only that way kept its pool (or PGlite) open after close. Kysely's
 * own destroy may then call it a second time.
 */
export function once(end: () => Promise<void>): () => Promise<void> {
  let ending: Promise<void> | undefined;
  return () => {
    ending ??= end();
    return ending;
  };
}

/** Transactions through Kysely's own API (migrations) on a connection of ours. */
export abstract class BaseDriver implements Driver {
  async init() {}
  abstract acquireConnection(): Promise<DatabaseConnection>;
  abstract releaseConnection(conn: DatabaseConnection): Promise<void>;
  async beginTransaction(conn: DatabaseConnection) {
    await conn.executeQuery(CompiledQuery.raw('begin'));
  }
  async commitTransaction(conn: DatabaseConnection) {
    await conn.executeQuery(CompiledQuery.raw('commit'));
  }
  async rollbackTransaction(conn: DatabaseConnection) {
    await conn.executeQuery(CompiledQuery.raw('rollback'));
  }
  async destroy() {}
}

/** The driver of one already checked-out connection: what {@link Database.bind} runs on. */
class BoundDriver extends BaseDriver {
  constructor(private readonly conn: DatabaseConnection) {
    super();
  }
  async acquireConnection() {
    return this.conn;
  }
  async releaseConnection() {}
}

export function bindTo(conn: DatabaseConnection): Kysely<DB> {
  return new Kysely<DB>({ dialect: dialect(() => new BoundDriver(conn)) });
}

const WRITES = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE']);

function kyselyResult(command: string | undefined, affected: number, rows: unknown[]) {
  return {
    numAffectedRows: command && WRITES.has(command) ? BigInt(affected) : undefined,
    rows,
  } as QueryResult<never>;
}

// ---- Prepared statements ----

/** How many statements one session keeps prepared; past that a statement is parsed every time. */
const MAX_PREPARED = 256;
/** Names are never reused in a process, so no two Parses on one session can ever clash. */
let preparedSeq = 0;

/** One statement of a flight: the name it is bound by ('' = unnamed) and whether to Parse it. */
export interface Step {
  name: string;
  parse: boolean;
}

/**
 * The statements prepared on one server session (a pooled `pg` connection, PGlite's session):
 * SQL text → statement name. Kysely builds the same text for the same query shape, so the hot
 * statements (the tenant context, each repository query) are parsed, rewritten (row-level
 * security) and planned once per session instead of on every request; values stay bind
 * parameters. Only statements whose flight succeeded are recorded: a Parse that the server
 * skipped after an earlier error in the flight is simply sent again, under a new name, next time.
 * A migration that changes a table's columns under a prepared `select *` makes the server refuse
 * the old statement (isStalePlan); the flight then forgets every name of its session, and the
 * tenant layer sends the statement again, parsed afresh, where that is safe (tenant.ts).
 */
export class PreparedStatements {
  readonly #known = new Map<string, string>();

  /** The steps of a flight, and what to record once it succeeded. */
  plan(statements: readonly CompiledQuery[]): { steps: Step[]; fresh: [string, string][] } {
    const fresh: [string, string][] = [];
    const pending = new Map<string, string>();
    const steps = statements.map((q): Step => {
      // Known, or parsed earlier in this same flight: bound by name only.
      const known = this.#known.get(q.sql) ?? pending.get(q.sql);
      if (known) return { name: known, parse: false };
      if (q.parameters.length === 0 || this.#known.size + pending.size >= MAX_PREPARED)
        return { name: '', parse: true };
      const name = `sb_${++preparedSeq}`;
      pending.set(q.sql, name);
      fresh.push([q.sql, name]);
      return { name, parse: true };
    });
    return { steps, fresh };
  }

  confirm(fresh: readonly [string, string][]) {
    for (const [text, name] of fresh) this.#known.set(text, name);
  }

  /** After a stale plan: every name of this session is parsed afresh from now on. */
  forget() {
    this.#known.clear();
  }

  get size() {
    return this.#known.size;
  }
}

/**
 * The server refused a prepared statement whose tables changed shape since it was prepared
 * (0A000 "cached plan must not change result type", a migration by another instance).
 */
export function isStalePlan(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: unknown; message?: unknown };
  return (
    e.code === '0A000' &&
    typeof e.message === 'string' &&
    e.message.includes('cached plan must not change result type')
  );
}

/** Runs a planned flight; records its new statements on success, forgets all on a stale plan. */
export async function runFlight<T>(
  cache: PreparedStatements,
  statements: readonly CompiledQuery[],
  send: (steps: readonly Step[]) => Promise<T>,
): Promise<T> {
  const { steps, fresh } = cache.plan(statements);
  try {
    const result = await send(steps);
    cache.confirm(fresh);
    return result;
  } catch (err) {
    if (isStalePlan(err)) cache.forget();
    throw err;
  }
}

// ---- PostgreSQL (`pg`) ----

interface PgResult {
  command: string;
  rowCount: number | null;
  rows: unknown[];
}

interface PgWire {
  stream: { cork?(): void; uncork?(): void };
  parse(msg: { name: string; text: string }): void;
  bind(msg: { statement: string; values: unknown[]; valueMapper: (v: unknown) => unknown }): void;
  describe(msg: { type: 'P'; name: string }): void;
  execute(msg: object): void;
  sync(): void;
}

interface PgQueryInternals {
  submit(connection: PgWire): Error | null;
  handleDataRow(msg: unknown): void;
  handleCommandComplete(msg: unknown, connection: PgWire): void;
}

const PgQuery = pg.Query as unknown as new (config: {
  text: string;
  values: unknown[];
  queryMode: 'extended';
  callback: (err: Error | null, res: PgResult) => void;
}) => PgQueryInternals;
export const prepareValue = (pg as unknown as { utils: { prepareValue(v: unknown): unknown } })
  .utils.prepareValue;

/**
 * A `pg` query that writes the whole flight in one corked write: per statement an optional Parse
 * (see {@link PreparedStatements}), Bind and Execute, a Describe before the last Execute, one
 * Sync; the answers of all but the last statement are skipped. `pg` itself tracks nothing of it
 * (the query has no name of its own).
 */
class FlightQuery extends PgQuery {
  #statements: readonly CompiledQuery[];
  #steps: readonly Step[];
  #skip: number;

  constructor(
    statements: readonly CompiledQuery[],
    steps: readonly Step[],
    callback: (err: Error | null, res: PgResult) => void,
  ) {
    const last = statements[statements.length - 1]!;
    super({ text: last.sql, values: [...last.parameters], queryMode: 'extended', callback });
    this.#statements = statements;
    this.#steps = steps;
    this.#skip = statements.length - 1;
  }

  override submit(connection: PgWire) {
    connection.stream.cork?.();
    try {
      const lastIndex = this.#statements.length - 1;
      this.#statements.forEach((s, i) => {
        const { name, parse } = this.#steps[i]!;
        if (parse) connection.parse({ name, text: s.sql });
        connection.bind({ statement: name, values: [...s.parameters], valueMapper: prepareValue });
        if (i === lastIndex) connection.describe({ type: 'P', name: '' });
        connection.execute({});
      });
      connection.sync();
      return null;
    } finally {
      connection.stream.uncork?.();
    }
  }

  override handleDataRow(msg: unknown) {
    if (this.#skip === 0) super.handleDataRow(msg);
  }

  override handleCommandComplete(msg: unknown, connection: PgWire) {
    if (this.#skip > 0) this.#skip--;
    else super.handleCommandComplete(msg, connection);
  }
}

/** Each pooled connection's prepared statements, for as long as the connection lives. */
const preparedOf = new WeakMap<pg.PoolClient, PreparedStatements>();

class PgConnection implements Connection {
  readonly #prepared: PreparedStatements;

  constructor(readonly client: pg.PoolClient) {
    let prepared = preparedOf.get(client);
    if (!prepared) {
      prepared = new PreparedStatements();
      preparedOf.set(client, prepared);
    }
    this.#prepared = prepared;
  }

  async executeQuery<R>(q: CompiledQuery): Promise<QueryResult<R>> {
    const r = (await this.client.query(q.sql, [...q.parameters])) as PgResult | PgResult[];
    // A parameterless multi-statement text (migrations) answers with one result per statement.
    const last = Array.isArray(r) ? r[r.length - 1] : r;
    return kyselyResult(last?.command, last?.rowCount ?? 0, last?.rows ?? []);
  }

  flight(statements: readonly CompiledQuery[]): Promise<QueryResult<unknown>> {
    return runFlight(
      this.#prepared,
      statements,
      (steps) =>
        new Promise((resolve, reject) => {
          const query = new FlightQuery(statements, steps, (err, r) =>
            err ? reject(err) : resolve(kyselyResult(r.command, r.rowCount ?? 0, r.rows)),
          );
          this.client.query(query as unknown as pg.Submittable);
        }),
    );
  }

  // biome-ignore lint/correctness/useYield: streaming is not used; refuse it loudly.
  async *streamQuery(): AsyncIterableIterator<QueryResult<never>> {
    throw new Error('streaming queries are not supported');
  }
}

class PgDriver extends BaseDriver {
  constructor(private readonly pool: pg.Pool) {
    super();
  }
  async acquireConnection() {
    return new PgConnection(await this.pool.connect());
  }
  async releaseConnection(conn: DatabaseConnection) {
    (conn as PgConnection).client.release();
  }
  readonly #end = once(() => this.pool.end());
  override destroy() {
    return this.#end();
  }
}

export function databaseFromUrl(
  url: string,
  options: {
    poolSize: number;
    timeoutMs: number;
    statementTimeoutMs?: number;
    lockTimeoutMs?: number;
    logger?: Logger;
  },
): Database {
  const statementTimeoutMs = options.statementTimeoutMs ?? Math.max(options.timeoutMs * 5, 15_000);
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize,
    // Fail fast when the server is unreachable: the request gets a 503 instead of hanging.
    connectionTimeoutMillis: options.timeoutMs,
    // Each session's defaults (startup parameters): the server cancels a statement that runs, or
    // waits for a lock, longer than this. Without them a lock held elsewhere (an operator's open
    // transaction, a stuck client) queued requests behind it until the pool ran dry: every
    // request then waited, none failed. A cancelled statement leaves its connection usable;
    // migrateToLatest lifts both for its own session (a migration may rightly take long).
    statement_timeout: statementTimeoutMs,
    ...(options.lockTimeoutMs ? { lock_timeout: options.lockTimeoutMs } : {}),
    // The client's own backstop, for a server that no longer answers at all.
    query_timeout: statementTimeoutMs + options.timeoutMs,
    idleTimeoutMillis: 10_000,
    keepAlive: true,
    application_name: 'switchboard',
  });
  // A connection that dies (server restart, network cut) must never crash the process: pg emits
  // 'error' on idle pool clients and on checked-out clients between statements.
  const onError = (err: Error) => options.logger?.warn({ err }, 'database connection error');
  pool.on('error', onError);
  pool.on('connect', (client) => client.on('error', onError));
  const driver = new PgDriver(pool);
  const db = new Kysely<DB>({ dialect: dialect(() => driver) });
  return {
    kind: 'postgres',
    db,
    async session(fn) {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        return await fn(new PgConnection(client));
      } catch (err) {
        if (!(err instanceof BrokenConnection)) throw err;
        broken = err;
        throw err.reason;
      } finally {
        // release(err) destroys the connection instead of pooling it.
        client.release(broken);
      }
    },
    bind: bindTo,
    async ping() {
      await sql`select 1`.execute(db);
    },
    async close() {
      await db.destroy();
      await driver.destroy();
    },
  };
}

export async function openDatabase(config: Config, logger?: Logger): Promise<Database> {
  if (config.database.url) {
    return databaseFromUrl(config.database.url, {
      poolSize: config.database.poolSize,
      timeoutMs: config.database.timeoutMs,
      statementTimeoutMs: config.database.statementTimeoutMs,
      lockTimeoutMs: config.database.lockTimeoutMs,
      logger,
    });
  }
  // Loaded only for the embedded database: a server on PostgreSQL never holds PGlite's code.
  const { openEmbeddedDatabase } = await import('./pglite.ts');
  return openEmbeddedDatabase(config.dataDir, logger);
}
