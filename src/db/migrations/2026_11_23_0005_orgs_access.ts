// Frozen in time: never import from src/ here; later changes go into new migrations.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- Invitations to join an org. The token (mailed once) is stored only as SHA-256.
    CREATE TABLE invitations (
      id uuid PRIMARY KEY,
      org_id uuid NOT NULL REFERENCES orgs(id),
      email text NOT NULL,
      role text NOT NULL CHECK (role IN ('owner', 'admin', 'manager', 'member')),
      token_hash text NOT NULL UNIQUE,
      invited_by uuid NOT NULL REFERENCES users(id),
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      accepted_at timestamptz,
      accepted_by uuid REFERENCES users(id),
      revoked_at timestamptz,
      revoked_by uuid REFERENCES users(id)
    );
    CREATE INDEX invitations_org_pending_idx ON invitations (org_id, id DESC)
      WHERE accepted_at IS NULL AND revoked_at IS NULL;
    CREATE INDEX invitations_org_email_idx ON invitations (org_id, email);

    -- API keys: sb_<prefix>_<secret>. The prefix finds the row; only the SHA-256 of the whole key
    -- is stored, so a database leak yields no usable key.
    CREATE TABLE api_keys (
      id uuid PRIMARY KEY,
      org_id uuid NOT NULL REFERENCES orgs(id),
      created_by uuid NOT NULL REFERENCES users(id),
      name text NOT NULL,
      prefix text NOT NULL UNIQUE,
      key_hash text NOT NULL UNIQUE,
      scopes jsonb NOT NULL DEFAULT '[]'::jsonb,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz,
      last_used_at timestamptz,
      revoked_at timestamptz,
      revoked_by uuid REFERENCES users(id)
    );
    CREATE INDEX api_keys_org_idx ON api_keys (org_id, id DESC);
  `.execute(db);

  await sql`
    -- Only the org's owners and admins see or change its invitations and keys. Accepting an
    -- invitation and authenticating a key happen before a tenant is known: the system path.
    ALTER TABLE invitations ENABLE ROW LEVEL SECURITY;
    ALTER TABLE invitations FORCE ROW LEVEL SECURITY;
    CREATE POLICY invitations_org_admin ON invitations
      USING (app_privileged() OR (org_id = app_org_id() AND app_role() IN ('owner', 'admin')))
      WITH CHECK (app_privileged() OR (org_id = app_org_id() AND app_role() IN ('owner', 'admin')));

    ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
    ALTER TABLE api_keys FORCE ROW LEVEL SECURITY;
    CREATE POLICY api_keys_org_admin ON api_keys
      USING (app_privileged() OR (org_id = app_org_id() AND app_role() IN ('owner', 'admin')))
      WITH CHECK (app_privileged() OR (org_id = app_org_id() AND app_role() IN ('owner', 'admin')));

    -- Removing a member or changing their role ends their sessions in that org: owners and admins
    -- may read and revoke (UPDATE) the sessions of their own org, never create one for someone.
    CREATE POLICY sessions_org_admin_read ON sessions FOR SELECT
      USING (org_id = app_org_id() AND app_role() IN ('owner', 'admin'));
    CREATE POLICY sessions_org_admin_revoke ON sessions FOR UPDATE
      USING (org_id = app_org_id() AND app_role() IN ('owner', 'admin'))
      WITH CHECK (org_id = app_org_id() AND app_role() IN ('owner', 'admin'));

    -- Admin-created users: owners and admins may create plain, active accounts (never a
    -- superuser), and a set-password token only for a member of their org who has no password
    -- yet (so an admin can never take over an account that already has one).
    CREATE POLICY users_org_admin_create ON users FOR INSERT
      WITH CHECK (app_org_id() IS NOT NULL AND app_role() IN ('owner', 'admin')
                  AND NOT is_superuser AND status = 'active');
    CREATE POLICY user_tokens_org_admin_set_password ON user_tokens FOR INSERT
      WITH CHECK (purpose = 'set_password' AND app_role() IN ('owner', 'admin')
                  AND EXISTS (SELECT 1 FROM memberships m
                              WHERE m.user_id = user_tokens.user_id AND m.org_id = app_org_id()
                                AND m.status = 'active')
                  AND EXISTS (SELECT 1 FROM users u
                              WHERE u.id = user_tokens.user_id AND u.password_hash IS NULL));

    GRANT SELECT, INSERT, UPDATE ON invitations, api_keys TO switchboard_app;
  `.execute(db);
}
