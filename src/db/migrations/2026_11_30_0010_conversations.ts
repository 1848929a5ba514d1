// Frozen in time: never import from src/ here; later changes go into new migrations.
//
// Conversations: every audio stream a device sends over /ws or /ws_pcm (audio-start … audio-stop
// or the socket's end) is one row here, its audio one file under DATA_DIR/conversations/. The row
// is inserted as `recording` when the stream starts and finalised when it ends; a stream whose
// process died is finalised from its file by the recovery sweep (status `interrupted`), so no row
// stays half-written. `device_id` names the device row of the realtime capability's own table,
// deliberately without a foreign key (the two capabilities' migrations stay independent);
// `client_id` and `device_name` are kept as text so a conversation still says where it came from
// after its device is revoked.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE conversations (
      id uuid PRIMARY KEY,
      org_id uuid NOT NULL REFERENCES orgs(id),
      user_id uuid NOT NULL REFERENCES users(id),
      device_id uuid NOT NULL,
      client_id text NOT NULL CHECK (length(client_id) BETWEEN 1 AND 64),
      device_name text NOT NULL CHECK (length(device_name) BETWEEN 1 AND 64),
      codec text NOT NULL CHECK (codec IN ('opus', 'pcm')),
      sample_rate integer NOT NULL CHECK (sample_rate BETWEEN 8000 AND 48000),
      channels smallint NOT NULL CHECK (channels BETWEEN 1 AND 2),
      status text NOT NULL DEFAULT 'recording'
        CHECK (status IN ('recording', 'complete', 'interrupted', 'failed')),
      -- Why the stream ended: audio-stop, client closed, idle timeout, a protocol error, …
      end_reason text CHECK (length(end_reason) <= 200),
      started_at timestamptz NOT NULL DEFAULT now(),
      ended_at timestamptz,
      -- Refreshed by the instance writing the stream; a stale one marks a stream whose writer died.
      heartbeat_at timestamptz NOT NULL DEFAULT now(),
      bytes bigint NOT NULL DEFAULT 0 CHECK (bytes >= 0),
      duration_ms bigint NOT NULL DEFAULT 0 CHECK (duration_ms >= 0),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      deleted_at timestamptz,
      -- When the file of a deleted conversation was removed from disk.
      audio_purged_at timestamptz,
      CHECK ((status = 'recording') = (ended_at IS NULL)),
      CHECK (audio_purged_at IS NULL OR deleted_at IS NOT NULL)
    );
    CREATE INDEX conversations_org_list_idx ON conversations (org_id, id DESC)
      WHERE deleted_at IS NULL;
    CREATE INDEX conversations_user_list_idx ON conversations (org_id, user_id, id DESC)
      WHERE deleted_at IS NULL;
    CREATE INDEX conversations_recording_idx ON conversations (heartbeat_at)
      WHERE status = 'recording';
    CREATE INDEX conversations_purge_idx ON conversations (deleted_at)
      WHERE deleted_at IS NOT NULL AND audio_purged_at IS NULL;

    -- Members see (and delete) their own conversations; owners, admins and managers the org's.
    -- A device writes its stream as its user, so the same rule holds for every write.
    ALTER TABLE conversations ENABLE ROW LEVEL SECURITY;
    ALTER TABLE conversations FORCE ROW LEVEL SECURITY;
    CREATE POLICY conversations_tenant ON conversations
      USING (app_privileged() OR (org_id = app_org_id()
             AND (app_sees_all_of_org() OR user_id = app_user_id())))
      WITH CHECK (app_privileged() OR (org_id = app_org_id()
             AND (app_sees_all_of_org() OR user_id = app_user_id())));

    GRANT SELECT, INSERT, UPDATE ON conversations TO switchboard_app;
  `.execute(db);
}
