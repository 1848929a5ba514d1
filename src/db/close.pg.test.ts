// Closing a database on PostgreSQL ends its pool, however the database was used: Kysely reaches
// the driver only once it has run a statement itself, while every tenant transaction checks its
// connection out through `session`, past Kysely. Runs only with DATABASE_URL.
import { CompiledQuery } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/db.ts';
import { databaseFromUrl } from './database.ts';

let real: TestDatabase;
beforeAll(async () => {
  real = await createTestDatabase();
});
afterAll(() => real?.close());

const open = () => databaseFromUrl(real.url!, { poolSize: 2, timeoutMs: 5000 });
const selectOne = CompiledQuery.raw('select 1 as one');

describe('closing a PostgreSQL database', () => {
  it('ends the pool when only sessions used it: no connection is left open or handed out', async () => {
    const database = open();
    await database.session((conn) => conn.flight([selectOne]));
    await database.close();
    await expect(database.session((conn) => conn.flight([selectOne]))).rejects.toThrow(
      /after calling end on the pool/,
    );
    // A second close is a no-op, not a "called end on pool more than once" error.
    await database.close();
  });

  it('ends the pool once when Kysely used it too (its destroy and ours do not both call end)', async () => {
    const database = open();
    await database.ping();
    await database.session((conn) => conn.flight([selectOne]));
    await database.close();
    await expect(database.session((conn) => conn.flight([selectOne]))).rejects.toThrow(
      /after calling end on the pool/,
    );
  });
});
