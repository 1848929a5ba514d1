// Classifying database errors, in one place for every layer: which mean "unreachable" (503),
// which mean text the database cannot store (400), which a unique index raised (409 or a retry).

const UNIQUE_VIOLATION = '23505';

/** A unique index refused the row (PostgreSQL 23505). */
export function isUniqueViolation(err: unknown): boolean {
  return !!err && typeof err === 'object' && (err as { code?: unknown }).code === UNIQUE_VIOLATION;
}

/** The constraint a unique violation hit, or undefined for any other error. */
export function violatedUniqueIndex(err: unknown): string | undefined {
  if (!isUniqueViolation(err)) return undefined;
  const constraint = (err as { constraint?: unknown }).constraint;
  return typeof constraint === 'string' ? constraint : undefined;
}

/** Errors that mean "the database is not reachable right now", as opposed to a bad query. */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  const message = typeof e.message === 'string' ? e.message : '';
  if (
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE'].includes(code)
  )
    return true;
  // 08: connection exception; 57P01-57P03: admin shutdown, crash shutdown, cannot connect now.
  if (/^08/.test(code) || ['57P01', '57P02', '57P03', '53300'].includes(code)) return true;
  return /timeout exceeded when trying to connect|Connection terminated|Query read timeout|connection error|Client has encountered a connection error|the database system is (starting up|shutting down)/i.test(
    message,
  );
}

/**
 * The server cancelled the statement: it waited for a lock longer than lock_timeout (55P03), ran
 * longer than statement_timeout (57014, also an operator's pg_cancel_backend), was the victim
 * chosen to break a deadlock (40P01), or could not be serialized with a concurrent transaction
 * (40001). Nothing of it was applied (its transaction is rolled back); the request may be tried
 * again. Writers that can meet in opposite orders take their locks in one order so that these
 * stay rare; one that slips through is a retryable 503, not a 500.
 */
export function isDatabaseBusy(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const code = (err as { code?: unknown }).code;
  return code === '55P03' || code === '57014' || code === '40P01' || code === '40001';
}

/**
 * The database refused text it cannot store: 22021 character_not_in_repertoire (a 0x00 byte in
 * text), 22P05 untranslatable_character (a \u0000 escape in jsonb). Request validation refuses such
 * text first; this keeps anything that slips past it a client error instead of a 500.
 */
export function isUnstorableText(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === '22021' || code === '22P05') return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
