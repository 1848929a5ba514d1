// `npm run keys:rotate`: make a new Ed25519 signing key the active one. The previous key stays
// published in the JWKS until every token it signed has expired, so nobody is logged out.
// Running servers sign with the new key once they reload their key ring.
// With the embedded database (no DATABASE_URL), stop the server first: PGlite's data directory
// can be opened by one process at a time, and the lock on it makes this script fail instead of
// rotating a copy the running server would then overwrite.
import { rotateSigningKey } from '../src/auth/signing-keys.ts';
import { ConfigError, loadConfig } from '../src/config.ts';
import { DataDirLockedError } from '../src/db/data-dir-lock.ts';
import { openDatabase } from '../src/db/database.ts';
import { migrateToLatest } from '../src/db/migrate.ts';

try {
  const config = loadConfig();
  const database = await openDatabase(config);
  try {
    await migrateToLatest(database.db);
    const { kid, retiredKid } = await rotateSigningKey(database, config.encryption);
    console.log(`new active signing key: ${kid}`);
    if (retiredKid) console.log(`retired: ${retiredKid}`);
  } finally {
    await database.close();
  }
} catch (err) {
  if (err instanceof DataDirLockedError) {
    console.error(
      `keys:rotate cannot open the embedded database: a Switchboard server (pid ${err.owner.pid}) ` +
        `is running on ${err.dir}. Stop the server and run npm run keys:rotate again, or rotate ` +
        'while it runs with POST /api/admin/signing-keys/rotate (as the platform superuser).\n' +
        `(${err.message})`,
    );
  } else {
    console.error(err instanceof ConfigError ? `configuration error: ${err.message}` : err);
  }
  process.exitCode = 1;
}
