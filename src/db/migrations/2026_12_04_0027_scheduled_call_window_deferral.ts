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
// attempt after their due time) get their due time back and no deferral: the window they were put
// off by may be gone or changed since, and the claim applies the window as it is now (a call still
// outside it is put off again, at the cost of one claim).
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE scheduled_calls ADD COLUMN window_deferred_until timestamptz;
    -- Row-level security is forced on the table owner too: the data fix acts as the system.
    SELECT set_config('app.system', 'on', true);
    UPDATE scheduled_calls
       SET next_attempt_at = scheduled_at
     WHERE status = 'pending' AND attempts = 0 AND last_error IS NULL
       AND next_attempt_at > scheduled_at;
    SELECT set_config('app.system', '', true);
    DROP INDEX scheduled_calls_due_idx;
    CREATE INDEX scheduled_calls_due_idx
      ON scheduled_calls ((greatest(next_attempt_at, window_deferred_until)))
      WHERE status = 'pending' AND deleted_at IS NULL;
  `.execute(db);
}
