// Frozen in time: never import from src/ here; later changes go into new migrations.
//
// Realtime audio devices and the single-use tickets browsers open a device socket with.
// - devices: one row per (org, user, client id), created or updated on every accepted socket
//   (GET /ws, /ws_pcm). A revoked device stays revoked: its sockets are closed and refused.
// - realtime_tickets: a short-lived (<= 60 s), single-use credential for a device socket, bound
//   to its user, org and device name. Only its SHA-256 is stored; consuming it is one UPDATE
//   that only one instance can win.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE devices (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      org_id uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      -- <last 6 characters of the user id>-<name>
      client_id text NOT NULL CHECK (client_id ~ '^[0-9a-z]{6}-[a-z0-9-]{1,32}$'),
      name text NOT NULL CHECK (name ~ '^[a-z0-9-]{1,32}$'),
      -- The codec of the latest socket: /ws carries Opus, /ws_pcm PCM.
      codec text NOT NULL CHECK (codec IN ('opus', 'pcm')),
      first_seen_at timestamptz NOT NULL DEFAULT now(),
      last_seen_at timestamptz NOT NULL DEFAULT now(),
      revoked_at timestamptz,
      revoked_by uuid REFERENCES users(id) ON DELETE SET NULL,
      CONSTRAINT devices_client_once UNIQUE (org_id, user_id, client_id)
    );
    CREATE INDEX devices_revoked ON devices (revoked_at) WHERE revoked_at IS NOT NULL;

    CREATE TABLE realtime_tickets (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      token_hash text NOT NULL UNIQUE,
      org_id uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      -- The credential that asked for it: the socket closes when that session or key ends.
      session_id uuid,
      api_key_id uuid,
      device_name text NOT NULL CHECK (device_name ~ '^[a-z0-9-]{1,32}$'),
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      used_at timestamptz
    );
    CREATE INDEX realtime_tickets_expiry ON realtime_tickets (expires_at);
  `.execute(db);

  await sql`
    -- Members see and change their own devices; owners, admins and managers may read the org's.
    ALTER TABLE devices ENABLE ROW LEVEL SECURITY;
    ALTER TABLE devices FORCE ROW LEVEL SECURITY;
    CREATE POLICY devices_own ON devices
      USING (app_privileged() OR (org_id = app_org_id() AND user_id = app_user_id()))
      WITH CHECK (app_privileged() OR (org_id = app_org_id() AND user_id = app_user_id()));
    CREATE POLICY devices_org_read ON devices FOR SELECT
      USING (org_id = app_org_id() AND app_sees_all_of_org());

    -- A ticket is created by its user in their org; it is consumed on the system path (no
    -- tenant is known before the ticket names one).
    ALTER TABLE realtime_tickets ENABLE ROW LEVEL SECURITY;
    ALTER TABLE realtime_tickets FORCE ROW LEVEL SECURITY;
    CREATE POLICY realtime_tickets_own ON realtime_tickets
      USING (app_privileged() OR (org_id = app_org_id() AND user_id = app_user_id()))
      WITH CHECK (app_privileged() OR (org_id = app_org_id() AND user_id = app_user_id()));

    GRANT SELECT, INSERT, UPDATE ON devices TO switchboard_app;
    GRANT SELECT, INSERT, UPDATE, DELETE ON realtime_tickets TO switchboard_app;
  `.execute(db);
}
