// `npm run migrate`: apply pending migrations to the configured database and exit.
import { ConfigError, loadConfig } from '../config.ts';
import { DataDirLockedError } from './data-dir-lock.ts';
import { openDatabase } from './database.ts';
import { migrateToLatest } from './migrate.ts';

try {
  const config = loadConfig();
  const database = await openDatabase(config);
  try {
    const applied = await migrateToLatest(database.db);
    console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
  } finally {
    await database.close();
  }
} catch (err) {
  if (err instanceof DataDirLockedError) {
    // A running server has the embedded database; migrating a copy beside it would be lost.
    console.error(`migrate: ${err.message}. Stop the server first (it migrates at start anyway).`);
  } else {
    console.error(err instanceof ConfigError ? `configuration error: ${err.message}` : err);
  }
  process.exitCode = 1;
}
