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

/**
 * Apply every pending migration, in order. Safe to run at each start and concurrently. The
 * migrations run on one connection with the server's statement and lock timeouts lifted for that
 * session (the pool sets them for requests: DATABASE_STATEMENT_TIMEOUT_MS, DATABASE_LOCK_TIMEOUT_MS):
 * an index built over a large table, or a lock waited for behind a long transaction, must not fail
 * a start. RESET gives the connection its pool defaults back before it returns to the pool.
 */
// biome-ignore lint/suspicious/noExplicitAny: the migrator works on any schema
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  if (await allApplied(db)) return [];
  return db.connection().execute(async (session) => {
    await sql`set statement_timeout = 0`.execute(session);
    await sql`set lock_timeout = 0`.execute(session);
    const restore = async () => {
      await sql`reset statement_timeout`.execute(session);
      await sql`reset lock_timeout`.execute(session);
    };
    let applied: string[];
    try {
      applied = await migrate(session);
    } catch (err) {
      // The migration's own error is the one to report, whatever becomes of the RESETs.
      await restore().catch(() => {});
      throw err;
    }
    await restore();
    return applied;
  });
}

// biome-ignore lint/suspicious/noExplicitAny: the migrator works on any schema
async function migrate(db: Kysely<any>): Promise<string[]> {
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
