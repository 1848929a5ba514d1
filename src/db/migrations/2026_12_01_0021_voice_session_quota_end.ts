// Frozen in time: never import from src/ here; later changes go into new migrations.
//
// A voice session can end because its participant joined over the org's max_voice_sessions: a
// rejoin after the session's slot was given back, or a first join after the token's issue-time
// hold lapsed, finds the org at its limit. The participant is removed from the room and the
// session ends with its own reason, so an operator reading the list tells it from a person who
// left.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE voice_sessions DROP CONSTRAINT voice_sessions_end_reason_check;
    ALTER TABLE voice_sessions ADD CONSTRAINT voice_sessions_end_reason_check
      CHECK (end_reason IN ('left', 'room_finished', 'expired', 'revoked', 'quota_exceeded'));
  `.execute(db);
}
