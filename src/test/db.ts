// A fresh, migrated database for one test file: a clone of the run's template.
import { readFileSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { inject } from 'vitest';
import { type Connection, type Database, databaseFromUrl } from '../db/database.ts';
import { databaseFromPGlite } from '../db/pglite.ts';
import { cloneDatabase, dropDatabase, urlFor } from './pg-admin.ts';

export interface TestDatabase extends Database {
  /** Connection URL when on PostgreSQL (for tests that start a second instance). */
  url?: string;
}

/** `poolSize` (PostgreSQL): connections in the pool; PGlite is always one session. */
export async function createTestDatabase(
  options: { poolSize?: number } = {},
): Promise<TestDatabase> {
  const url = process.env.DATABASE_URL;
  if (url) {
    const name = await cloneDatabase(url, inject('pgTemplate'), inject('runId'));
    const dbUrl = urlFor(url, name);
    const database = databaseFromUrl(dbUrl, { poolSize: options.poolSize ?? 5, timeoutMs: 5000 });
    return {
      ...database,
      url: dbUrl,
      async close() {
        await database.close();
        await dropDatabase(url, name);
      },
    };
  }
  const dump = readFileSync(inject('pgliteDump'));
  const pglite = await PGlite.create({ loadDataDir: new Blob([dump]) });
  return databaseFromPGlite(pglite);
}

/**
 * The same database, counting the flights (round trips) its sessions send and keeping the SQL
 * text of each (values are bind parameters, so the text says which statements ran, not on what).
 */
export function countingFlights(database: Database): {
  db: Database;
  flights: () => number;
  statements: () => string[][];
} {
  const sent: string[][] = [];
  const db: Database = {
    ...database,
    session: (fn) =>
      database.session((conn) => {
        const counted: Connection = Object.create(conn);
        counted.flight = (statements) => {
          sent.push(statements.map((s) => s.sql));
          return conn.flight(statements);
        };
        return fn(counted);
      }),
  };
  return { db, flights: () => sent.length, statements: () => sent.map((f) => [...f]) };
}
