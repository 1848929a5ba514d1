// Frozen in time: never import from src/ here; later changes go into new migrations.
//
// LiveKit voice sessions. A row opens when a room token is issued (`issued`), turns `active` when
// LiveKit reports the participant joined, and closes when it left or its room finished (`ended`,
// with the duration from the events), when its token expired unused (`expired`) or when the login
// session that minted it ended (`revoked`, the participant is removed from the room). LiveKit's
// webhook deliveries are applied once each: their event ids are kept for a day.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE voice_sessions (
      id uuid PRIMARY KEY,
      org_id uuid NOT NULL REFERENCES orgs(id),
      user_id uuid NOT NULL REFERENCES users(id),
      -- The login session whose credential minted the token; NULL for API keys.
      auth_session_id uuid REFERENCES sessions(id),
      identity text NOT NULL CHECK (identity = user_id::text),
      -- Namespaced by org: '<org id>__<name>', so no org can name another org's room.
      room_name text NOT NULL CHECK (left(room_name, 38) = org_id::text || '__'
                                     AND length(room_name) > 38),
      source text NOT NULL CHECK (source IN ('api', 'auth_token', 'register', 'login')),
      status text NOT NULL CHECK (status IN ('issued', 'active', 'ended', 'expired', 'revoked')),
      token_expires_at timestamptz NOT NULL,
      started_at timestamptz,
      ended_at timestamptz,
      duration_seconds integer CHECK (duration_seconds >= 0),
      end_reason text CHECK (end_reason IN ('left', 'room_finished', 'expired', 'revoked')),
      created_at timestamptz NOT NULL DEFAULT now(),
      CHECK ((status IN ('ended', 'expired', 'revoked')) = (end_reason IS NOT NULL))
    );
    CREATE INDEX voice_sessions_org_list_idx ON voice_sessions (org_id, id DESC);
    CREATE INDEX voice_sessions_user_list_idx ON voice_sessions (org_id, user_id, id DESC);
    CREATE INDEX voice_sessions_org_created_idx ON voice_sessions (org_id, created_at);
    -- Webhooks find the open sessions of a participant; revocation those of a login session;
    -- the expiry sweep the issued tokens past their expiry.
    CREATE INDEX voice_sessions_open_idx ON voice_sessions (room_name, identity)
      WHERE status IN ('issued', 'active');
    CREATE INDEX voice_sessions_open_auth_idx ON voice_sessions (auth_session_id)
      WHERE status IN ('issued', 'active');
    CREATE INDEX voice_sessions_unused_idx ON voice_sessions (token_expires_at)
      WHERE status = 'issued';

    -- LiveKit retries a webhook until it is acknowledged: an event id seen here is not applied again.
    CREATE TABLE livekit_webhook_events (
      id text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 128),
      org_id uuid NOT NULL REFERENCES orgs(id),
      event text NOT NULL,
      received_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX livekit_webhook_events_received_idx ON livekit_webhook_events (received_at);
  `.execute(db);

  await sql`
    ALTER TABLE voice_sessions ENABLE ROW LEVEL SECURITY;
    ALTER TABLE voice_sessions FORCE ROW LEVEL SECURITY;
    -- Members read their own sessions; owners, admins and managers the org's; the org service
    -- (verified webhooks) the org's.
    CREATE POLICY voice_sessions_read ON voice_sessions FOR SELECT
      USING (app_privileged() OR (org_id = app_org_id()
             AND (app_sees_all_of_org() OR user_id = app_user_id() OR app_org_service())));
    -- A token is issued to its own user (a person, or an API key acting for its creator).
    CREATE POLICY voice_sessions_issue ON voice_sessions FOR INSERT
      WITH CHECK (app_privileged() OR (org_id = app_org_id() AND user_id = app_user_id()));
    -- Only verified webhooks (the org service) and the system path (expiry, revocation) move a
    -- session on; people never do.
    CREATE POLICY voice_sessions_track ON voice_sessions FOR UPDATE
      USING (app_privileged() OR (org_id = app_org_id() AND app_org_service()))
      WITH CHECK (app_privileged() OR (org_id = app_org_id() AND app_org_service()));

    ALTER TABLE livekit_webhook_events ENABLE ROW LEVEL SECURITY;
    ALTER TABLE livekit_webhook_events FORCE ROW LEVEL SECURITY;
    CREATE POLICY livekit_webhook_events_service ON livekit_webhook_events
      USING (app_privileged() OR (org_id = app_org_id() AND app_org_service()))
      WITH CHECK (app_privileged() OR (org_id = app_org_id() AND app_org_service()));

    GRANT SELECT, INSERT, UPDATE ON voice_sessions TO switchboard_app;
    GRANT SELECT, INSERT, DELETE ON livekit_webhook_events TO switchboard_app;
  `.execute(db);
}
