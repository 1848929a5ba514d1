import {
  DEFAULT_MIGRATION_TABLE,
  type Kysely,
  type MigrationResultSet,
  Migrator,
  sql,
} from 'kysely';
import { migrations } from './migrations/index.ts';

export class MigrationError extends Error {
  override name = 'MigrationError';
}

/** Apply every pending migration, in order. Safe to run at each start and concurrently. */
// biome-ignore lint/suspicious/noExplicitAny: the migrator works on any schema
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  if (await allApplied(db)) return [];
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
  });
  const { error, results }: MigrationResultSet = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new MigrationError(`migration ${failed} failed: ${(error as Error).message ?? error}`, {
      cause: error,
    });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/**
 * True when the database has applied exactly the migrations this code knows (the usual restart):
 * two small reads instead of the migrator's catalog introspection, table checks and locked
 * transaction. Anything else (a pending migration, an empty database, one this code does not
 * know) goes through the migrator, which applies or reports it.
 */
// biome-ignore lint/suspicious/noExplicitAny: the migrator works on any schema
async function allApplied(db: Kysely<any>): Promise<boolean> {
  const { rows } = await sql<{ found: boolean }>`
    select to_regclass(${DEFAULT_MIGRATION_TABLE}) is not null as found
  `.execute(db);
  if (!rows[0]?.found) return false;
  const applied = await sql<{ name: string }>`
    select name from ${sql.table(DEFAULT_MIGRATION_TABLE)}
  `.execute(db);
  const names = new Set(applied.rows.map((r) => r.name));
  const known = Object.keys(migrations);
  return names.size === known.length && known.every((name) => names.has(name));
}
