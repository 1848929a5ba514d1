// Frozen in time: never import from src/ here; later changes go into new migrations.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- One row per login: the refresh-token chain, the device, and its revocation.
    CREATE TABLE sessions (
      id uuid PRIMARY KEY,
      user_id uuid NOT NULL REFERENCES users(id),
      org_id uuid NOT NULL REFERENCES orgs(id),
      user_agent text,
      ip text,
      amr jsonb NOT NULL DEFAULT '["pwd"]'::jsonb,
      created_at timestamptz NOT NULL DEFAULT now(),
      last_used_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      revoked_at timestamptz,
      revoked_reason text
    );
    CREATE INDEX sessions_user_idx ON sessions (user_id) WHERE revoked_at IS NULL;
    CREATE INDEX sessions_revoked_idx ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

    -- Opaque refresh tokens, stored only as SHA-256. One chain per session: each use rotates.
    CREATE TABLE refresh_tokens (
      id uuid PRIMARY KEY,
      session_id uuid NOT NULL REFERENCES sessions(id),
      user_id uuid NOT NULL REFERENCES users(id),
      token_hash text NOT NULL UNIQUE,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      rotated_at timestamptz,
      replaced_by uuid
    );
    CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);

    -- Ed25519 signing keys for access tokens; private keys encrypted with ENCRYPTION_KEYS.
    CREATE TABLE signing_keys (
      kid text PRIMARY KEY,
      algorithm text NOT NULL DEFAULT 'EdDSA',
      public_jwk jsonb NOT NULL,
      private_key_enc text NOT NULL,
      status text NOT NULL CHECK (status IN ('active', 'retired')),
      created_at timestamptz NOT NULL DEFAULT now(),
      retired_at timestamptz
    );
    CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (status) WHERE status = 'active';

    -- Append-only record of security-relevant acts. Never a password, token or secret.
    CREATE TABLE audit_logs (
      id uuid PRIMARY KEY,
      org_id uuid REFERENCES orgs(id),
      actor_user_id uuid REFERENCES users(id),
      actor_type text NOT NULL CHECK (actor_type IN ('user', 'superuser', 'api_key', 'system', 'anonymous')),
      action text NOT NULL,
      target_type text,
      target_id text,
      outcome text NOT NULL CHECK (outcome IN ('success', 'failure')),
      ip text,
      user_agent text,
      request_id text,
      metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX audit_logs_org_idx ON audit_logs (org_id, id DESC);

    CREATE FUNCTION audit_logs_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'audit_logs is append-only' USING ERRCODE = '42501';
    END $$;
    CREATE TRIGGER audit_logs_no_update BEFORE UPDATE OR DELETE ON audit_logs
      FOR EACH ROW EXECUTE FUNCTION audit_logs_append_only();
  `.execute(db);

  await sql`
    ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
    ALTER TABLE sessions FORCE ROW LEVEL SECURITY;
    CREATE POLICY sessions_owner ON sessions
      USING (app_privileged() OR user_id = app_user_id())
      WITH CHECK (app_privileged() OR user_id = app_user_id());

    ALTER TABLE refresh_tokens ENABLE ROW LEVEL SECURITY;
    ALTER TABLE refresh_tokens FORCE ROW LEVEL SECURITY;
    CREATE POLICY refresh_tokens_owner ON refresh_tokens
      USING (app_privileged() OR user_id = app_user_id())
      WITH CHECK (app_privileged() OR user_id = app_user_id());

    ALTER TABLE signing_keys ENABLE ROW LEVEL SECURITY;
    ALTER TABLE signing_keys FORCE ROW LEVEL SECURITY;
    CREATE POLICY signing_keys_system ON signing_keys
      USING (app_privileged()) WITH CHECK (app_privileged());

    ALTER TABLE audit_logs ENABLE ROW LEVEL SECURITY;
    ALTER TABLE audit_logs FORCE ROW LEVEL SECURITY;
    -- Org admins read their org's trail; anyone acting may append to its own org's trail.
    CREATE POLICY audit_logs_read ON audit_logs FOR SELECT
      USING (app_privileged() OR (org_id = app_org_id() AND app_role() IN ('owner', 'admin')));
    CREATE POLICY audit_logs_append ON audit_logs FOR INSERT
      WITH CHECK (app_privileged() OR org_id = app_org_id());

    GRANT SELECT, INSERT, UPDATE ON sessions, refresh_tokens, signing_keys TO switchboard_app;
    GRANT SELECT, INSERT ON audit_logs TO switchboard_app;
  `.execute(db);
}
