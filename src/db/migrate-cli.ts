// `npm run migrate`: apply pending migrations to the configured database and exit.
import { type Config, ConfigError, loadConfig } from '../config.ts';
import { describeDatabaseOpenError } from './connect-error.ts';
import { DataDirLockedError } from './data-dir-lock.ts';
import { openDatabase } from './database.ts';
import { migrateToLatest } from './migrate.ts';

let config: Readonly<Config> | undefined;
try {
  config = loadConfig();
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
  } else if (err instanceof ConfigError) {
    console.error(`configuration error: ${err.message}`);
  } else {
    // An unreachable or refusing database in one line; anything else as it came.
    const why = config && describeDatabaseOpenError(err, config);
    console.error(why ? `migrate: ${why}` : err);
  }
  process.exitCode = 1;
}
