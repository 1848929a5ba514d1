// `npm run migrate`: apply pending migrations to the configured database and exit.
import { ConfigError, loadConfig } from '../config.ts';
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
  console.error(err instanceof ConfigError ? `configuration error: ${err.message}` : err);
  process.exitCode = 1;
}
