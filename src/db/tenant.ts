// Tenant context: every request's database work runs as the unprivileged role `switchboard_app`,
// with the caller's org, user and role set as TRANSACTION-LOCAL settings (set_config(..., true))
// that the row-level-security policies read. The context is never a session setting, so it ends
// with its transaction and a pooled connection cannot carry one request's context to the next.
//
// Cost: the context travels in the same message flight as the statement it guards (database.ts
// `flight`: Parse/Bind/Execute per statement, one Sync, one round trip), as bind parameters.
// - withTenantRead (reads: lists, gets): every statement is sent as [context, statement] in one
//   flight, which PostgreSQL runs as one implicit transaction ended by the Sync: no BEGIN, no
//   COMMIT, one round trip per statement. The context also sets `transaction_read_only`, so a
//   write slipped into a read path fails instead of running outside an explicit transaction.
//   Two statements of one read are two transactions; under READ COMMITTED (the default) each
//   statement of a transaction takes its own snapshot anyway, so they see what they would have
//   seen in one transaction.
// - withTenant (writes and anything that must be atomic): the first statement is sent as
//   [BEGIN, context, statement] in one flight; the next statements follow on the open
//   transaction; COMMIT (or ROLLBACK when fn throws) ends it. A transaction that sends nothing
//   costs nothing.
// - withTenantStatement (a write that is one statement by design): [context, statement] in one
//   implicit transaction; a second statement is refused (it would not be atomic with the first).
// - sendWithNext (a statement whose answer nobody reads: an audit row, the insert of a fresh id,
//   a row lock taken ahead of the statement that reads the rows):
//   inside withTenant/withSystem it is queued and rides in the flight of the transaction's next
//   statement or of its COMMIT. A transaction of queued writes only is [context, writes] in one
//   implicit transaction: one round trip, no BEGIN or COMMIT.
// Every statement with parameters, the context included, is prepared once per session
// (database.ts PreparedStatements): only Bind/Execute travel after the first time.
// Failure: a failing statement aborts its transaction; a read's implicit one is rolled back by
// the server at the Sync, a write's is rolled back here. If that ROLLBACK itself fails the
// connection is destroyed, never pooled (BrokenConnection). src/db/rls.test.ts proves it with
// two orgs interleaved over a pool of one connection.
import {
  type Compilable,
  CompiledQuery,
  type DatabaseConnection,
  type Kysely,
  type QueryResult,
} from 'kysely';
import { BrokenConnection, type Connection, type Database, isStalePlan } from './database.ts';
import { type DB, ROLES, type Role } from './schema.ts';

export const APP_ROLE = 'switchboard_app';

export interface TenantContext {
  orgId: string | null;
  userId: string | null;
  role: Role | null;
  /** Platform superuser: may cross orgs (every such act is audited by the caller). */
  superuser?: boolean;
}

/** What a repository function receives: a transaction already carrying its tenant context. */
export type Tx = Kysely<DB>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// The values are bind parameters; their shapes are still checked so that a programming error
// (a non-UUID id, an unknown role) fails here rather than as a cast error inside a policy.
function checked(value: string | null, shape: 'uuid' | 'role'): string {
  if (value === null) return '';
  const ok = shape === 'uuid' ? UUID.test(value) : (ROLES as readonly string[]).includes(value);
  if (!ok) throw new Error(`invalid tenant context ${shape}`);
  return value;
}

const SETTINGS = [
  `set_config('role', '${APP_ROLE}', true)`,
  `set_config('app.org_id', $1, true)`,
  `set_config('app.user_id', $2, true)`,
  `set_config('app.role', $3, true)`,
  `set_config('app.superuser', $4, true)`,
  `set_config('app.system', $5, true)`,
];
/**
 * The context statement answers a row of no columns: the settings are its only effect, and each
 * column of an answer is a value the driver decodes and throws away (on the embedded database,
 * seven text values through PGlite's protocol parser, about a tenth of a tenant read's cost there).
 * The set_config calls are volatile, so PostgreSQL neither pulls the subquery up nor drops its
 * unused outputs: every call runs (src/db/rls.test.ts reads the settings back).
 */
const contextSql = (settings: readonly string[]) =>
  `select from (select ${settings.join(', ')}) as context`;
const CONTEXT_SQL = contextSql(SETTINGS);
const READ_CONTEXT_SQL = contextSql([
  ...SETTINGS,
  `set_config('transaction_read_only', 'on', true)`,
]);
const BEGIN = CompiledQuery.raw('begin');
const COMMIT = CompiledQuery.raw('commit');
const ROLLBACK = CompiledQuery.raw('rollback');

function context(ctx: TenantContext, system: boolean, read: boolean): CompiledQuery {
  return CompiledQuery.raw(read ? READ_CONTEXT_SQL : CONTEXT_SQL, [
    checked(ctx.orgId, 'uuid'),
    checked(ctx.userId, 'uuid'),
    checked(ctx.role, 'role'),
    ctx.superuser ? 'on' : 'off',
    system ? 'on' : 'off',
  ]);
}

/**
 * Sends a flight that owns its whole transaction (an implicit one, or one it BEGINs) and sends it
 * once more when the server refused a prepared statement as stale (a migration changed a table
 * under it): the failed transaction is gone (rolled back at the Sync, or here), the session has
 * forgotten its statement names, and the second flight parses afresh. Nothing of the first ran.
 */
async function flightOnce(conn: Connection, statements: CompiledQuery[], begun: boolean) {
  try {
    return await conn.flight(statements);
  } catch (err) {
    if (!isStalePlan(err)) throw err;
    if (begun) await conn.flight([ROLLBACK]);
    return conn.flight(statements);
  }
}

/** A read: every statement rides with the context in its own one-flight implicit transaction. */
class ReadConnection implements DatabaseConnection {
  constructor(
    private readonly conn: Connection,
    private readonly context: CompiledQuery,
  ) {}
  executeQuery<R>(q: CompiledQuery): Promise<QueryResult<R>> {
    return flightOnce(this.conn, [this.context, q], false) as Promise<QueryResult<R>>;
  }
  streamQuery(): AsyncIterableIterator<QueryResult<never>> {
    throw new Error('streaming queries are not supported');
  }
}

/**
 * One atomic write statement: [context, statement] in one flight, run by the server as one
 * implicit transaction that the Sync commits. A second statement would be a second transaction
 * (no longer atomic with the first), so it is refused.
 */
class StatementConnection implements DatabaseConnection {
  #sent = false;
  constructor(
    private readonly conn: Connection,
    private readonly context: CompiledQuery,
  ) {}
  executeQuery<R>(q: CompiledQuery): Promise<QueryResult<R>> {
    if (this.#sent) throw new Error('withTenantStatement runs exactly one statement');
    this.#sent = true;
    return flightOnce(this.conn, [this.context, q], false) as Promise<QueryResult<R>>;
  }
  streamQuery(): AsyncIterableIterator<QueryResult<never>> {
    throw new Error('streaming queries are not supported');
  }
}

/**
 * A write: BEGIN and the context ride with the first statement; end() commits. Statements queued
 * by sendWithNext ride, in order, in front of the next statement or of the COMMIT.
 */
class WriteConnection implements DatabaseConnection {
  begun = false;
  #queued: CompiledQuery[] = [];
  constructor(
    private readonly conn: Connection,
    private readonly context: CompiledQuery,
  ) {}
  queue(q: CompiledQuery): void {
    this.#queued.push(q);
  }
  #take(): CompiledQuery[] {
    const queued = this.#queued;
    this.#queued = [];
    return queued;
  }
  executeQuery<R>(q: CompiledQuery): Promise<QueryResult<R>> {
    const queued = this.#take();
    // Later statements of the transaction cannot be sent again alone: a stale plan there fails
    // the transaction (rolled back by write()), like any other error.
    if (this.begun) return this.conn.flight([...queued, q]) as Promise<QueryResult<R>>;
    this.begun = true;
    return flightOnce(this.conn, [BEGIN, this.context, ...queued, q], true) as Promise<
      QueryResult<R>
    >;
  }
  /** fn returned: commit what was sent, with what is still queued. */
  async end(): Promise<void> {
    const queued = this.#take();
    if (!this.begun) {
      // Queued writes only: they and the context are one implicit transaction, atomic at the Sync.
      if (queued.length > 0) await flightOnce(this.conn, [this.context, ...queued], false);
      return;
    }
    try {
      await this.conn.flight([...queued, COMMIT]);
    } catch (err) {
      // A failed queued write has left the transaction aborted (the server skipped the COMMIT);
      // a failed COMMIT has ended it (the ROLLBACK is then a no-op). End it either way, since the
      // one embedded session cannot be replaced; a pool still destroys the connection, as a lost
      // one cannot be trusted.
      await this.conn.flight([ROLLBACK]).catch(() => {});
      throw new BrokenConnection(err);
    }
  }
  /** fn threw: what is queued is dropped unsent; a begun transaction is rolled back. */
  async abandon(): Promise<void> {
    this.#take();
    if (!this.begun) return;
    // The connection must not go back to the pool inside this transaction.
    await this.conn.flight([ROLLBACK]).catch((rollbackError) => {
      throw new BrokenConnection(rollbackError);
    });
  }
  streamQuery(): AsyncIterableIterator<QueryResult<never>> {
    throw new Error('streaming queries are not supported');
  }
}

/** The write transaction each Tx of withTenant/withSystem runs in, for sendWithNext. */
const writeOf = new WeakMap<Tx, WriteConnection>();

async function write<T>(
  database: Database,
  ctx: TenantContext,
  system: boolean,
  fn: (tx: Tx) => Promise<T>,
): Promise<T> {
  const preamble = context(ctx, system, false);
  return database.session(async (conn) => {
    const wc = new WriteConnection(conn, preamble);
    const tx = database.bind(wc);
    writeOf.set(tx, wc);
    let result: T;
    try {
      result = await fn(tx);
    } catch (err) {
      await wc.abandon();
      throw err;
    }
    await wc.end();
    return result;
  });
}

/**
 * A statement whose answer the caller never reads (an audit row, the insert of a fresh id, a row
 * lock taken ahead of the statement that reads the rows: src/access/standing.ts). In a
 * withTenant/withSystem transaction it is queued, costing no round trip of its own: it travels
 * with the transaction's next statement or its COMMIT, and fails the transaction there like any
 * statement (the error surfaces from that later await, or from withTenant itself). So never use
 * it for a statement whose error the caller handles (a unique violation it maps to a 409).
 * Anywhere else it runs at once.
 */
export async function sendWithNext(tx: Tx, query: Compilable): Promise<void> {
  const wc = writeOf.get(tx);
  if (wc) wc.queue(query.compile());
  else await tx.executeQuery(query.compile());
}

async function read<T>(
  database: Database,
  ctx: TenantContext,
  system: boolean,
  fn: (tx: Tx) => Promise<T>,
): Promise<T> {
  const preamble = context(ctx, system, true);
  return database.session((conn) => fn(database.bind(new ReadConnection(conn, preamble))));
}

/** Run fn in one transaction scoped to the caller's org (row-level security enforces it). */
export function withTenant<T>(
  database: Database,
  ctx: TenantContext,
  fn: (tx: Tx) => Promise<T>,
): Promise<T> {
  return write(database, ctx, false, fn);
}

/**
 * Run a read-only fn scoped to the caller's org: each statement is its own one-round-trip
 * transaction carrying the context, and the database refuses writes. For lists and gets.
 */
export function withTenantRead<T>(
  database: Database,
  ctx: TenantContext,
  fn: (tx: Tx) => Promise<T>,
): Promise<T> {
  return read(database, ctx, false, fn);
}

/**
 * Run ONE write statement scoped to the caller's org, atomically, in one round trip: the context
 * and the statement share an implicit transaction (no BEGIN, no COMMIT). For a write that is a
 * single statement by design (the quota lease functions); fn may send no second statement.
 */
export function withTenantStatement<T>(
  database: Database,
  ctx: TenantContext,
  fn: (tx: Tx) => Promise<T>,
): Promise<T> {
  const preamble = context(ctx, false, false);
  return database.session((conn) => fn(database.bind(new StatementConnection(conn, preamble))));
}

/**
 * The one narrow path across tenants, for lookups that must happen before a tenant is known
 * (finding a user's memberships at login, the org that owns a phone number for a webhook).
 * Still runs as the unprivileged role; the policies let it through on the `app.system` flag.
 * Callers are reviewed: grep for withSystem.
 */
export function withSystem<T>(
  database: Database,
  fn: (tx: Tx) => Promise<T>,
  ctx: TenantContext = { orgId: null, userId: null, role: null },
): Promise<T> {
  return write(database, ctx, true, fn);
}

/**
 * withSystem for reads: each statement rides with the system context in its own one-round-trip,
 * read-only implicit transaction (as withTenantRead). For the login's account lookup.
 */
export function withSystemRead<T>(
  database: Database,
  fn: (tx: Tx) => Promise<T>,
  ctx: TenantContext = { orgId: null, userId: null, role: null },
): Promise<T> {
  return read(database, ctx, true, fn);
}
