// The database handle: Kysely over embedded PostgreSQL (PGlite, in DATA_DIR) by default, or over a
// `pg` pool when DATABASE_URL is set. Everything else talks to the database through this module.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import pg from 'pg';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { lockDataDir } from './data-dir-lock.ts';
import type { DB } from './schema.ts';

export type DatabaseKind = 'pglite' | 'postgres';

export interface Database {
  kind: DatabaseKind;
  db: Kysely<DB>;
  /** Round trip to the database; throws when it is unreachable. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * kysely-pglite-dialect sends every statement through PGlite's extended protocol, which takes
 * one statement at a time. Parameterless SQL (migrations, the tenant-context preamble) may hold
 * several, so it goes through exec(), PGlite's simple protocol, like `pg` does for it.
 */
function pgliteClient(pglite: PGlite) {
  return {
    async query(text: string, params: unknown[]) {
      if (params.length > 0) return pglite.query(text, params);
      const results = await pglite.exec(text);
      return results[results.length - 1] ?? { rows: [], affectedRows: 0, fields: [] };
    },
    close: () => pglite.close(),
  } as unknown as PGlite;
}

export function databaseFromPGlite(pglite: PGlite): Database {
  const db = new Kysely<DB>({ dialect: new PGliteDialect(pgliteClient(pglite)) });
  return {
    kind: 'pglite',
    db,
    async ping() {
      await sql`select 1`.execute(db);
    },
    async close() {
      await db.destroy();
    },
  };
}

export function databaseFromUrl(
  url: string,
  options: { poolSize: number; timeoutMs: number; statementTimeoutMs?: number; logger?: Logger },
): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize,
    // Fail fast when the server is unreachable: the request gets a 503 instead of hanging.
    connectionTimeoutMillis: options.timeoutMs,
    query_timeout: options.statementTimeoutMs ?? Math.max(options.timeoutMs * 5, 15_000),
    idleTimeoutMillis: 10_000,
    keepAlive: true,
    application_name: 'switchboard',
  });
  // A connection that dies (server restart, network cut) must never crash the process: pg emits
  // 'error' on idle pool clients and on checked-out clients between statements.
  const onError = (err: Error) => options.logger?.warn({ err }, 'database connection error');
  pool.on('error', onError);
  pool.on('connect', (client) => client.on('error', onError));
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  return {
    kind: 'postgres',
    db,
    async ping() {
      await sql`select 1`.execute(db);
    },
    async close() {
      await db.destroy();
    },
  };
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

export async function openDatabase(config: Config, logger?: Logger): Promise<Database> {
  if (config.database.url) {
    return databaseFromUrl(config.database.url, {
      poolSize: config.database.poolSize,
      timeoutMs: config.database.timeoutMs,
      logger,
    });
  }
  const dir = join(config.dataDir, 'pgdata');
  mkdirSync(dir, { recursive: true });
  // Before PGlite reads anything: a second process would work on its own copy and lose writes.
  const lock = lockDataDir(dir);
  let database: Database;
  try {
    database = databaseFromPGlite(
      await PGlite.create({ dataDir: dir, postgresqlconf: EMBEDDED_POSTGRES_CONF }),
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
