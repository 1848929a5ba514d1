import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/db.ts';
import { MigrationError, migrateToLatest } from './migrate.ts';
import { migrations } from './migrations/index.ts';

describe('migrateToLatest on a migrated database', () => {
  let database: TestDatabase | undefined;
  afterEach(async () => {
    await database?.close();
    database = undefined;
  });

  it('applies nothing when every known migration is recorded', async () => {
    database = await createTestDatabase();
    const recorded = await sql<{ name: string }>`select name from kysely_migration`.execute(
      database.db,
    );
    expect(recorded.rows.map((r) => r.name).sort()).toEqual(Object.keys(migrations).sort());
    expect(await migrateToLatest(database.db)).toEqual([]);
  });

  it('a recorded migration this code does not know still goes to the migrator, which refuses it', async () => {
    database = await createTestDatabase();
    await sql`insert into kysely_migration (name, timestamp) values ('2099_01_01_0001_future', now()::text)`.execute(
      database.db,
    );
    await expect(migrateToLatest(database.db)).rejects.toThrow(MigrationError);
  });
});
