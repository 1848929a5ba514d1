// The one sentence for a database that cannot be opened at start (the server, `npm run migrate`,
// `npm run keys:rotate`): which variable to fix and why, never the password, no stack trace.
import type { Config } from '../config.ts';
import { redactConnectionUrl } from '../infra/url.ts';

/** Network failures: nothing answered at the address DATABASE_URL names. */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'EADDRNOTAVAIL',
]);

/**
 * PostgreSQL's refusals of a connection (SQLSTATE): the server answered, but not for these
 * credentials, this database, or at this moment.
 */
const REFUSED: Record<string, string> = {
  '28000': 'invalid authorization',
  '28P01': 'wrong password',
  '3D000': 'unknown database',
  '42501': 'insufficient privilege',
  '53300': 'too many connections',
  '57P03': 'the server is starting up or shutting down',
  '08001': 'connection refused',
  '08004': 'connection rejected',
};

/** File-system failures opening the embedded database in DATA_DIR. */
const FILE_ERRORS = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOENT', 'ENOTDIR', 'EEXIST', 'ENOSPC']);

/** The error's code, looking through an AggregateError (several addresses) and `cause`. */
function codeOf(err: unknown, depth = 0): string | undefined {
  if (!err || typeof err !== 'object' || depth > 3) return undefined;
  const e = err as { code?: unknown; errors?: unknown; cause?: unknown };
  if (typeof e.code === 'string' && e.code) return e.code;
  if (Array.isArray(e.errors)) {
    for (const inner of e.errors) {
      const code = codeOf(inner, depth + 1);
      if (code) return code;
    }
  }
  return codeOf(e.cause, depth + 1);
}

/**
 * The sentence (without "Switchboard cannot start: ") for an error that opening or migrating the
 * configured database threw because the database is unreachable, refuses the connection, or (the
 * embedded one) cannot be written; undefined for any other error, which the caller rethrows.
 */
export function describeDatabaseOpenError(
  err: unknown,
  config: { database: Pick<Config['database'], 'url'>; dataDir: string },
): string | undefined {
  const code = codeOf(err);
  const message = err instanceof Error ? err.message : String(err);
  const url = config.database.url;
  if (url !== undefined) {
    const where = redactConnectionUrl(url);
    if (code && UNREACHABLE.has(code)) {
      return `cannot reach the database at DATABASE_URL (${where}: ${code}). Check that PostgreSQL runs there and accepts connections from this machine.`;
    }
    // pg's own connect timeout (DATABASE_TIMEOUT_MS) carries no code.
    if (/connection timeout|timeout expired|Connection terminated unexpectedly/i.test(message)) {
      return `cannot reach the database at DATABASE_URL (${where}: no answer within DATABASE_TIMEOUT_MS: ${message})`;
    }
    // 42501 is also what a migration the user may not run raises (CREATE ROLE without
    // CREATEROLE): only "permission denied for database" is the connection's own refusal.
    const refused =
      code !== undefined &&
      code in REFUSED &&
      (code !== '42501' || /permission denied for database/i.test(message));
    if (refused) {
      return `the database at DATABASE_URL (${where}) refused the connection: ${message} (${code}, ${REFUSED[code as string]}). Check the user, password and database name in DATABASE_URL.`;
    }
    return undefined;
  }
  if (code && FILE_ERRORS.has(code)) {
    return `cannot open the embedded database in DATA_DIR ${config.dataDir} (${code}: ${message}). Set DATA_DIR to a folder this process can create and write.`;
  }
  return undefined;
}
