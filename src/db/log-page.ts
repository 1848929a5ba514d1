// The page of a log (calls, messages, conversations, voice sessions, scheduled calls): newest
// first by the time-ordered id, optionally within a [since, until) window on the column the log
// is dated by. Each repository keeps its own table, scope and filters.
import type { ExpressionBuilder } from 'kysely';
import type { DB } from './schema.ts';

/** A list request on a log: page size, the id cursor and the time window (ISO date-times). */
export interface LogPage {
  limit: number;
  /** The last id of the previous page. */
  before?: string;
  since?: string;
  until?: string;
}

/**
 * A list's filters with every key present, the value undefined for "no such filter". A route
 * builds them from its snake_case query string, the repository reads them in camelCase: with
 * optional keys a spread of the raw query compiled and a misspelt filter (phone_id for phoneId)
 * was silently dropped, the list answering every row the caller sees. Here an object that leaves
 * a key out (a spread of the query, a filter forgotten) does not compile, and a literal with an
 * unknown key (the query's spelling) does not either.
 */
// (Mapped over Required<T>'s keys, not T's: the keys lose their `?`, the values keep `undefined`.)
export type Stated<T> = { [K in keyof Required<T>]: T[K] };

type LogTable = 'calls' | 'messages' | 'conversations' | 'voice_sessions' | 'scheduled_calls';
type DatedBy = 'started_at' | 'created_at' | 'scheduled_at';

/** A bound of the window as the statement's parameter (a Date: already one, src/db/fixed-query.ts). */
const instant = (at: string | Date) => (typeof at === 'string' ? new Date(at) : at);

/** Rows before the cursor and inside the window on `datedBy`. */
export function logPage(
  datedBy: DatedBy,
  f: { before?: string; since?: string | Date; until?: string | Date },
) {
  return (eb: ExpressionBuilder<DB, LogTable>) =>
    eb.and([
      ...(f.before ? [eb('id', '<', f.before)] : []),
      ...(f.since ? [eb(datedBy, '>=', instant(f.since))] : []),
      ...(f.until ? [eb(datedBy, '<', instant(f.until))] : []),
    ]);
}
