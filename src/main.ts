// Starts Switchboard: config, database (migrated), app, listen; closes with grace on SIGTERM/SIGINT.
import { getHeapStatistics } from 'node:v8';
import { pino } from 'pino';
import { bootstrapSuperuser } from './admin/bootstrap.ts';
import { buildApp } from './app.ts';
import { SigningKeyUndecryptableError } from './auth/signing-keys.ts';
import { ConfigError, describeConfigError, loadConfig } from './config.ts';
import { describeDatabaseOpenError } from './db/connect-error.ts';
import { DataDirLockedError } from './db/data-dir-lock.ts';
import { openDatabase } from './db/database.ts';
import { migrateToLatest } from './db/migrate.ts';
import { onStopSignal } from './infra/shutdown-signals.ts';
import { logDestination, loggerOptions } from './logger.ts';

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (err) {
  // Every problem at once, as plain lines: a stack trace would only bury them.
  if (err instanceof ConfigError) {
    console.error(describeConfigError(err));
    process.exit(1);
  }
  throw err;
}

const logger = pino(loggerOptions(config), logDestination());
for (const name of config.generatedSecrets) {
  logger.warn(
    `${name} was not set: generated one into ${config.dataDir}/secrets.json and will reuse it. ` +
      'Set it in the environment for production (NODE_ENV=production refuses to start without it).',
  );
}

let database: Awaited<ReturnType<typeof openDatabase>>;
try {
  database = await openDatabase(config, logger);
} catch (err) {
  // Another server (or keys:rotate, migrate) has the embedded data directory.
  if (err instanceof DataDirLockedError) {
    console.error(`Switchboard cannot start: ${err.message}`);
    process.exit(1);
  }
  failOnDatabaseError(err);
  throw err;
}
let applied: string[];
try {
  // The first statement: a PostgreSQL server that is down or refuses DATABASE_URL says so here.
  applied = await migrateToLatest(database.db);
} catch (err) {
  await database.close().catch(() => {});
  failOnDatabaseError(err);
  throw err;
}
if (applied.length) logger.info({ applied }, 'migrations applied');
// The platform superuser (ADMIN_EMAIL / ADMIN_PASSWORD), created if absent; never overwritten.
await bootstrapSuperuser(database, config, logger);
// The Redis client is loaded only when configured: a single instance does not hold it.
const redis = config.redisUrl
  ? (await import('./infra/redis.ts')).openRedis(config.redisUrl, logger)
  : undefined;

let app: Awaited<ReturnType<typeof buildApp>>;
try {
  app = await buildApp(config, { database, redis, logger });
} catch (err) {
  // The database was set up by a server with other ENCRYPTION_KEYS (most often: a second
  // instance that generated its own in development). Say what, and what to set: no stack trace.
  if (err instanceof SigningKeyUndecryptableError) {
    console.error(describeForeignEncryptionKeys(err));
    process.exit(1);
  }
  throw err;
}
app.addHook('onClose', async () => {
  // Requests accepted before SIGTERM finish first; only then do their connections go away.
  await app.drain(10_000);
  // Then what those requests queued (new-device checks and their notices), before the database goes.
  await app.background.close();
  redis?.disconnect();
  await database.close();
});

let drainStartedAt: number | null = null;
async function shutdown(signal: 'SIGTERM' | 'SIGINT') {
  // A monotonic clock: a wall-clock step (NTP) must not turn one key press into two.
  const action = onStopSignal(signal, drainStartedAt, performance.now());
  if (action === 'exit_now') {
    logger.warn({ signal }, 'second interrupt: exiting without waiting for requests in flight');
    process.exit(130);
  }
  if (action === 'ignore') return;
  drainStartedAt = performance.now();
  logger.info(
    { signal },
    signal === 'SIGINT'
      ? 'shutting down: draining requests (press Ctrl-C again to exit at once)'
      : 'shutting down: draining requests',
  );
  const force = setTimeout(() => {
    logger.error('graceful shutdown timed out; exiting');
    process.exit(1);
  }, 15_000);
  force.unref();
  // Keep-alive connections turn idle as their in-flight requests finish after close() began;
  // close them as they do, so clients are not left waiting for the keep-alive timeout.
  const sweeper = setInterval(() => app.server.closeIdleConnections(), 100);
  sweeper.unref();
  try {
    await app.close();
    clearInterval(sweeper);
    logger.info('shut down cleanly');
    process.exit(0);
  } catch (err) {
    logger.error({ err }, 'error during shutdown');
    process.exit(1);
  }
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

try {
  await app.listen({ port: config.port, host: config.host });
} catch (err) {
  // A taken port, an address this machine does not have, a name that does not resolve: say which
  // variables to fix, without a stack trace, and let go of the database cleanly.
  const code = (err as NodeJS.ErrnoException).code ?? 'error';
  console.error(
    `Switchboard cannot listen on HOST=${config.host} PORT=${config.port} (${code}: ${(err as Error).message}). Set HOST to an address of this machine (0.0.0.0 for all) and PORT to a free port.`,
  );
  await app.close().catch(() => {});
  process.exit(1);
}
// The heap limit bounds the resident size (README, Running in production): said at start, so a
// server started without the flag (a default limit of several GB) shows it in its first lines.
const heapLimitMb = Math.round(getHeapStatistics().heap_size_limit / 2 ** 20);
logger.info(
  { heap_limit_mb: heapLimitMb },
  `Switchboard listening on ${config.publicUrl} (database: ${database.kind === 'pglite' ? `embedded in ${config.dataDir}` : 'PostgreSQL'}; JavaScript heap limit ${heapLimitMb} MB)`,
);
// Tokens carry the issuer: instances with different values refuse each other's tokens, and agent
// workers must check exactly these.
logger.info(
  { iss: config.auth.issuer, aud: config.auth.audience },
  `access tokens: iss ${config.auth.issuer}${config.auth.issuer !== config.publicUrl ? '' : ' (PUBLIC_URL; set JWT_ISSUER or the same PUBLIC_URL on every instance)'}, aud ${config.auth.audience}`,
);

/** An unreachable or refusing database (or an unwritable embedded one): one line, exit 1. */
function failOnDatabaseError(err: unknown): void {
  const why = describeDatabaseOpenError(err, config);
  if (why === undefined) return;
  console.error(`Switchboard cannot start: ${why}`);
  process.exit(1);
}

/** The start-up message when the database's secrets were sealed under other ENCRYPTION_KEYS. */
function describeForeignEncryptionKeys(err: SigningKeyUndecryptableError): string {
  const generated = config.generatedSecrets.includes('ENCRYPTION_KEYS')
    ? ` ENCRYPTION_KEYS was not set, so this start generated a new one into ${config.dataDir}/secrets.json: it cannot open data sealed before.`
    : '';
  return (
    `Switchboard cannot start: this instance's ENCRYPTION_KEYS cannot decrypt the secrets stored in the database: ${err.message}.${generated} ` +
    'The database was set up by a server with other keys, and every instance that shares a database must use the same ENCRYPTION_KEYS ' +
    "(they seal the access-token signing keys, the TOTP secrets and the orgs' Twilio auth tokens). " +
    'Set ENCRYPTION_KEYS to the value the first server uses — in development it generated one into its DATA_DIR/secrets.json: copy ENCRYPTION_KEYS and SECRET_KEY from there into the environment of every instance. ' +
    'See README.md, "Several instances".'
  );
}
