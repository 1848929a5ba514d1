// Frozen in time: never import from src/ here; later changes go into new migrations.
//
// A voice session remembers which LiveKit participant (its `sid`: one per connection, new at
// every reconnect) its events were last about. LiveKit's webhooks are not ordered: a client that
// reconnects joins again (a new sid) before its old connection is reported gone, and a join can
// arrive after the leave of the same connection. Matching events by identity alone, the old
// connection's leave ended the session of the new one (a participant in the room that no
// revocation or quota would then see), and a late join reopened a session whose participant had
// already left.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE voice_sessions ADD COLUMN participant_sid text
      CHECK (char_length(participant_sid) BETWEEN 1 AND 128);
  `.execute(db);
}
