// `npm run keys:rotate`: stage a new Ed25519 signing key. It is published in the JWKS at once and
// starts signing after SIGNING_KEY_PUBLISH_DELAY_SECONDS (so verifiers that cached the JWKS know it
// by then); the previous key then retires and stays published until every token it signed has
// expired, so nobody is logged out. Running servers pick the stages up when they reload their ring.
// With the embedded database (no DATABASE_URL), stop the server first: PGlite's data directory
// can be opened by one process at a time, and the lock on it makes this script fail instead of
// rotating a copy the running server would then overwrite.
import { recordRotation } from '../src/admin/admin.ts';
import { activeSigningKid } from '../src/auth/signing-key.repository.ts';
import {
  loadKeyRing,
  rotateSigningKey,
  SigningKeyUndecryptableError,
} from '../src/auth/signing-keys.ts';
import { type Config, ConfigError, loadConfig } from '../src/config.ts';
import { describeDatabaseOpenError } from '../src/db/connect-error.ts';
import { DataDirLockedError } from '../src/db/data-dir-lock.ts';
import { openDatabase } from '../src/db/database.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { withSystem } from '../src/db/tenant.ts';
import { AppError } from '../src/http/errors.ts';
import { systemMeta } from '../src/http/request-meta.ts';

// --compromised: the new key signs at once and every other key is withdrawn (README: Key rotation).
const compromised = process.argv.slice(2).includes('--compromised');
const CLI_META = systemMeta('keys-rotate');

let config: Readonly<Config> | undefined;
try {
  config = loadConfig();
  const database = await openDatabase(config);
  try {
    await migrateToLatest(database.db);
    // The servers' own check at start: the keys they sign and verify with must open under this
    // ENCRYPTION_KEYS. With other keys a rotation would retire (or, --compromised, withdraw) the
    // keys they use and stage one sealed under a key they do not have, logging everyone out.
    if (await withSystem(database, activeSigningKid)) {
      await loadKeyRing(database, config.encryption, {
        maxTokenTtlSeconds: Math.max(
          config.auth.accessTokenTtlSeconds,
          config.twilio.streamTokenTtlSeconds,
        ),
      });
    }
    const { kid, retiredKid, activatesAt, withdrawnKids } = await rotateSigningKey(
      database,
      config.encryption,
      {
        publishDelaySeconds: config.auth.signingKeyPublishDelaySeconds,
        compromised,
        // The operator's rotation is in the audit log like the superuser's, as the system's act.
        record: (tx, r) =>
          recordRotation(tx, CLI_META, { actor_user_id: null, actor_type: 'system' }, r, {
            compromised,
          }),
      },
    );
    if (compromised) {
      console.log(`signing key: ${kid} (signs now)`);
      if (withdrawnKids.length > 0) {
        console.log(
          `withdrawn: ${withdrawnKids.join(', ')} (no longer published or trusted; running ` +
            'servers drop them at their next key reload, within 30 s)',
        );
      }
    } else {
      console.log(
        `staged signing key: ${kid} (published now, signs from ${activatesAt.toISOString()})`,
      );
      if (retiredKid)
        console.log(`replaces: ${retiredKid} (retires then; verifies until its tokens expire)`);
    }
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
  } else if (err instanceof SigningKeyUndecryptableError) {
    console.error(
      `keys:rotate: this ENCRYPTION_KEYS cannot decrypt the signing keys stored in the database: ${err.message}. ` +
        'Rotating with it would retire or withdraw the keys the servers use and stage one they cannot open, so no key was rotated. ' +
        'Run keys:rotate with the ENCRYPTION_KEYS the servers use (in development: their DATA_DIR/secrets.json).',
    );
  } else if (err instanceof AppError) {
    // signing_key_rotation_pending: a key is staged already.
    console.error(`keys:rotate: ${err.message}`);
  } else if (err instanceof ConfigError) {
    console.error(`configuration error: ${err.message}`);
  } else {
    // An unreachable or refusing database in one line; anything else as it came.
    const why = config && describeDatabaseOpenError(err, config);
    console.error(why ? `keys:rotate: ${why}` : err);
  }
  process.exitCode = 1;
}
