// Frozen in time: never import from src/ here; later changes go into new migrations.
//
// The API key whose credential minted a voice session's token. Revoking a key ends what its
// tokens opened, as a logout ends what a login session's tokens opened: the open sessions close
// with reason `revoked` and their participants are removed from the room. Without the column a
// revoked key's participant stayed in the room until it left or its token expired.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE voice_sessions ADD COLUMN api_key_id uuid REFERENCES api_keys(id);
    -- One credential or the other: a login session's token or an API key's.
    ALTER TABLE voice_sessions ADD CONSTRAINT voice_sessions_one_credential
      CHECK (auth_session_id IS NULL OR api_key_id IS NULL);
    -- Revocation finds the open sessions of a key.
    CREATE INDEX voice_sessions_open_api_key_idx ON voice_sessions (api_key_id)
      WHERE status IN ('issued', 'active') AND api_key_id IS NOT NULL;
  `.execute(db);
}
