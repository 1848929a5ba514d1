// `npm run keys:rotate`: make a new Ed25519 signing key the active one. The previous key stays
// published in the JWKS until every token it signed has expired, so nobody is logged out.
// Running servers sign with the new key once they reload their key ring.
// With the embedded database (no DATABASE_URL), stop the server first: PGlite's data directory
// can be opened by one process at a time.
import { rotateSigningKey } from '../src/auth/signing-keys.ts';
import { ConfigError, loadConfig } from '../src/config.ts';
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
  console.error(err instanceof ConfigError ? `configuration error: ${err.message}` : err);
  process.exitCode = 1;
}
