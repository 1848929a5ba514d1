// Frozen in time: never import from src/ here; later changes go into new migrations.
//
// A scheduled call the calling window puts off keeps its due time. The dispatcher used to write the
// window's next opening over next_attempt_at, the call's due time: the deferral then outlived the
// window it was computed from. Removing the window, replacing it, or changing the call's recipient
// zone left the call waiting for the old opening (dispatch_at showed it, the claim honoured it),
// though without a window calls go at any time.
//
// window_deferred_until holds the window's deferral apart: the claim waits for it as well as for
// next_attempt_at (the due time, a quota's wait or a retry's backoff), dispatch_at ignores it, and
// it is cleared when the org's window is set or removed and when the call is changed. The claim
// re-checks the window anyway, so a cleared deferral costs at most one claim put off again.
//
// The due index is on the later of the two, so the claim's scan reaches only calls it may take.
// Calls put off by the window before this migration (pending, never attempted, no error, their next
// attempt after their due time: no other write leaves a call so) get their due time back and the
// opening as their deferral.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE scheduled_calls ADD COLUMN window_deferred_until timestamptz;
    UPDATE scheduled_calls
       SET window_deferred_until = next_attempt_at, next_attempt_at = scheduled_at
     WHERE status = 'pending' AND attempts = 0 AND last_error IS NULL
       AND next_attempt_at > scheduled_at;
    DROP INDEX scheduled_calls_due_idx;
    CREATE INDEX scheduled_calls_due_idx
      ON scheduled_calls ((greatest(next_attempt_at, window_deferred_until)))
      WHERE status = 'pending' AND deleted_at IS NULL;
  `.execute(db);
}
