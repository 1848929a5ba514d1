// Frozen in time: never import from src/ here; later changes go into new migrations.
//
// A voice session remembers which instance of its room (LiveKit's room `sid`: a room name is
// reused, each time the room is created anew it gets a new sid) its participant last joined.
// LiveKit's webhooks are not ordered and are retried: an earlier instance's room_finished can be
// delivered after a new instance of the same name has started. Matching room_finished by name
// alone, it ended the sessions of people still in the new instance (and gave back their quota
// slots), leaving them in the room where no revocation or kill switch would find them.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE voice_sessions ADD COLUMN room_sid text
      CHECK (char_length(room_sid) BETWEEN 1 AND 128);
  `.execute(db);
}
