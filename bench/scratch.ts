// A throwaway world for one benchmark target: a migrated database (a fresh PGlite directory, or a
// fresh database on BENCH_DATABASE_URL's server) and a data directory, both removed by close().
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { type Config, loadConfig } from '../src/config.ts';
import { type Database, databaseFromUrl } from '../src/db/database.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { openEmbeddedDatabase } from '../src/db/pglite.ts';

export interface Scratch {
  database: Database;
  dataDir: string;
  /** Close the database and delete everything made for this run (errors ignored). */
  close(): Promise<void>;
}

async function admin<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function openScratch(kind: string | undefined, prefix: string): Promise<Scratch> {
  const cleanups: (() => Promise<unknown>)[] = [];
  let database: Database;
  if (kind === 'postgres') {
    const base = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
    // Hex only: the name goes into DDL, which takes no bind parameters.
    const name = `${prefix.replace(/\W/g, '_')}_${randomBytes(4).toString('hex')}`;
    await admin(base, (c) => c.query(`create database ${name}`));
    const u = new URL(base);
    u.pathname = `/${name}`;
    const pgDatabase = databaseFromUrl(u.toString(), { poolSize: 10, timeoutMs: 5000 });
    database = pgDatabase;
    cleanups.push(async () => {
      await pgDatabase.close();
      await admin(base, (c) => c.query(`drop database if exists ${name} with (force)`));
    });
  } else {
    const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
    // Opened as the server opens DATA_DIR's database: the cluster created and migrated in a child
    // process that then exits (in this process, initdb's WebAssembly heap stayed behind: ~440 MB
    // counted as `external` memory until a later collection freed it, which turned the
    // per-socket memory figure negative), the directory locked, statistics kept by ANALYZE.
    const embedded = await openEmbeddedDatabase(dir);
    database = embedded;
    cleanups.push(async () => {
      await embedded.close();
      rmSync(dir, { recursive: true, force: true });
    });
  }
  // PostgreSQL's scratch database is empty; the embedded one finds nothing left to apply.
  await migrateToLatest(database.db);
  const dataDir = mkdtempSync(join(tmpdir(), `${prefix}-data-`));
  cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
  return {
    database,
    dataDir,
    async close() {
      for (const c of cleanups.reverse()) await c().catch(() => {});
    },
  };
}

/**
 * The configuration every bench server starts from (test mode, silent, fresh keys, this run's
 * data directory) with what its scenario changes.
 */
export function benchConfig(dataDir: string, env: Record<string, string> = {}): Readonly<Config> {
  return loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATA_DIR: dataDir,
    ENCRYPTION_KEYS: `b1:${randomBytes(32).toString('base64')}`,
    SECRET_KEY: randomBytes(32).toString('base64url'),
    ...env,
  });
}

/**
 * Listens on a free port of 127.0.0.1 and prints the line the bench client waits for
 * ({port, ...info}); on SIGTERM closes the app, removes the scratch world and exits.
 */
export async function serveBench(
  app: FastifyInstance,
  scratch: Scratch,
  info: Record<string, unknown>,
): Promise<void> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address() as { port: number };
  console.log(JSON.stringify({ port: address.port, ...info }));
  process.on('SIGTERM', async () => {
    await app.close();
    await scratch.close();
    process.exit(0);
  });
}
