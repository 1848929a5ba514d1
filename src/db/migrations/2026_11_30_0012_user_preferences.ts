// Frozen in time: never import from src/ here; later changes go into new migrations.
//
// A user's remembered preferences (what a voice agent was told: "call me Sam", "answer in
// French"), a flat map of string keys to string values. One row per membership (org, user), not
// per user: what a person told one org's agents stays in that org — another org's agent workers,
// with their own API keys, never read it — and a removed member's row is left behind with the
// membership it belonged to. The application validates the map (key charset and length, value
// length, number of keys, total size); the CHECKs below are the backstop.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE user_preferences (
      org_id uuid NOT NULL,
      user_id uuid NOT NULL,
      preferences jsonb NOT NULL DEFAULT '{}'::jsonb
        CHECK (jsonb_typeof(preferences) = 'object')
        CHECK (octet_length(preferences::text) <= 65536),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (org_id, user_id),
      FOREIGN KEY (org_id, user_id) REFERENCES memberships (org_id, user_id)
    );

    -- The user reads and writes their own row in their current org. The org service context (the
    -- org acting as itself, no person: how agent workers' API calls run once the service has
    -- checked the key's scope and that the user is an active member) reads and writes the rows of
    -- that org. Nobody else: an org's managers and admins do not read members' preferences.
    ALTER TABLE user_preferences ENABLE ROW LEVEL SECURITY;
    ALTER TABLE user_preferences FORCE ROW LEVEL SECURITY;
    CREATE POLICY user_preferences_owner ON user_preferences
      USING (app_privileged() OR (org_id = app_org_id()
             AND (user_id = app_user_id() OR app_org_service())))
      WITH CHECK (app_privileged() OR (org_id = app_org_id()
             AND (user_id = app_user_id() OR app_org_service())));

    GRANT SELECT, INSERT, UPDATE ON user_preferences TO switchboard_app;
  `.execute(db);
}
