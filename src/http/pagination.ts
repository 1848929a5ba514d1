// Cursor pagination: newest first by UUIDv7 id (or, for a list ordered by another time, by that
// time then id: encodeTimedCursor). The cursor is opaque to clients (base64url of
// the last id seen) and validated on the way in, so a forged cursor is a 400, not a SQL error.
import { Type } from 'typebox';
import { AppError } from './errors.ts';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
};

export function encodeCursor(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!UUID_RE.test(id)) throw new AppError('invalid_cursor');
  return id;
}

/**
 * A list's time window, [start, end): one that ends before it starts, or where it starts, holds
 * nothing, and is a mistake (swapped bounds) to name with a 400 on its start, never an empty page
 * that reads as "nothing happened". Both bounds are date-times the route's schema has checked.
 * `names` are the query's spelling of the two bounds.
 */
export function checkWindow(
  start: string | undefined,
  end: string | undefined,
  names: readonly [string, string] = ['since', 'until'],
): void {
  if (start && end && Date.parse(start) >= Date.parse(end)) {
    throw new AppError('validation_failed', 'The time window is not valid', {
      errors: [{ field: names[0], message: `must be before ${names[1]}` }],
    });
  }
}

/** Fetch limit+1 rows; this trims to limit and yields the next cursor when there are more. */
export function page<T extends { id: string }>(rows: T[], limit: number) {
  const items = rows.slice(0, limit);
  const more = rows.length > limit;
  return { items, next_cursor: more ? encodeCursor(items[items.length - 1]!.id) : null };
}

export const PageOf = <T extends import('typebox').TSchema>(item: T) =>
  Type.Object({ items: Type.Array(item), next_cursor: Type.Union([Type.String(), Type.Null()]) });

/**
 * A cursor for a list ordered by a time other than the id's (newest suspension first, say): the
 * last row's instant (to the millisecond, as the app writes such times) and its id, the tie-break.
 */
export function encodeTimedCursor(at: Date, id: string): string {
  return Buffer.from(`${at.toISOString()}/${id}`, 'utf8').toString('base64url');
}

export function decodeTimedCursor(
  cursor: string | undefined,
): { at: Date; id: string } | undefined {
  if (cursor === undefined) return undefined;
  const [iso, id, ...rest] = Buffer.from(cursor, 'base64url').toString('utf8').split('/');
  const at = new Date(iso ?? '');
  if (rest.length > 0 || !id || !UUID_RE.test(id) || Number.isNaN(at.getTime())) {
    throw new AppError('invalid_cursor');
  }
  // Years 0001-9999 only: JavaScript holds instants PostgreSQL's timestamptz cannot (a forged
  // cursor in year -271821 was a 500 from the database).
  if (at.toISOString() !== iso || !/^\d{4}-/.test(iso) || iso.startsWith('0000')) {
    throw new AppError('invalid_cursor');
  }
  return { at, id };
}

/** page() for a timed cursor: `at` reads the instant the list is ordered by. */
export function timedPage<T extends { id: string }>(
  rows: T[],
  limit: number,
  at: (row: T) => Date,
) {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return {
    items,
    next_cursor: rows.length > limit && last ? encodeTimedCursor(at(last), last.id) : null,
  };
}

const MICRO_INSTANT = /^(\d{4})-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/**
 * A cursor for a list ordered by a time the database writes itself (now()), to the microsecond:
 * the last row's time as the database printed it (UTC, six decimals: a JavaScript Date would
 * round it to the millisecond, and rows within that millisecond would be skipped or repeated) and
 * its id, the tie-break.
 */
export function encodeMicroCursor(at: string, id: string): string {
  return Buffer.from(`${at}/${id}`, 'utf8').toString('base64url');
}

export function decodeMicroCursor(
  cursor: string | undefined,
): { at: string; id: string } | undefined {
  if (cursor === undefined) return undefined;
  const [at, id, ...rest] = Buffer.from(cursor, 'base64url').toString('utf8').split('/');
  const year = at ? MICRO_INSTANT.exec(at)?.[1] : undefined;
  // A real instant of years 0001-9999 (the milliseconds read back unchanged): a forged one
  // (month 13, year 0000) is a 400 here, not the database's cast error.
  const ms = at?.slice(0, 23);
  const instant = new Date(`${ms}Z`);
  if (
    rest.length > 0 ||
    !id ||
    !UUID_RE.test(id) ||
    !year ||
    year === '0000' ||
    Number.isNaN(instant.getTime()) ||
    instant.toISOString().slice(0, 23) !== ms
  ) {
    throw new AppError('invalid_cursor');
  }
  return { at: at!, id };
}
