// Frozen in time: never import from src/ here; later changes go into new migrations.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- TOTP: secrets encrypted (AES-256-GCM, key id inside the blob); the last accepted time step
    -- makes every code (and every older one) single-use.
    ALTER TABLE users
      ADD COLUMN mfa_enabled_at timestamptz,
      ADD COLUMN totp_secret_enc text,
      ADD COLUMN totp_pending_secret_enc text,
      ADD COLUMN totp_last_step bigint;

    CREATE TABLE mfa_backup_codes (
      id uuid PRIMARY KEY,
      user_id uuid NOT NULL REFERENCES users(id),
      code_hash text NOT NULL,
      used_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX mfa_backup_codes_user_idx ON mfa_backup_codes (user_id) WHERE used_at IS NULL;

    -- Single-use, expiring tokens mailed to users (email verification, password reset, set
    -- password, MFA login challenges), stored only as SHA-256.
    CREATE TABLE user_tokens (
      id uuid PRIMARY KEY,
      user_id uuid NOT NULL REFERENCES users(id),
      purpose text NOT NULL CHECK (purpose IN ('verify_email', 'reset_password', 'set_password', 'mfa_login')),
      token_hash text NOT NULL UNIQUE,
      expires_at timestamptz NOT NULL,
      used_at timestamptz,
      metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX user_tokens_user_idx ON user_tokens (user_id, purpose);

    -- Devices a user has logged in from (user agent + IP), for new-device notices.
    CREATE TABLE known_devices (
      user_id uuid NOT NULL REFERENCES users(id),
      fingerprint text NOT NULL,
      first_seen_at timestamptz NOT NULL DEFAULT now(),
      last_seen_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (user_id, fingerprint)
    );

    ALTER TABLE mfa_backup_codes ENABLE ROW LEVEL SECURITY;
    ALTER TABLE mfa_backup_codes FORCE ROW LEVEL SECURITY;
    CREATE POLICY mfa_backup_codes_owner ON mfa_backup_codes
      USING (app_privileged() OR user_id = app_user_id())
      WITH CHECK (app_privileged() OR user_id = app_user_id());

    ALTER TABLE user_tokens ENABLE ROW LEVEL SECURITY;
    ALTER TABLE user_tokens FORCE ROW LEVEL SECURITY;
    CREATE POLICY user_tokens_owner ON user_tokens
      USING (app_privileged() OR user_id = app_user_id())
      WITH CHECK (app_privileged() OR user_id = app_user_id());

    ALTER TABLE known_devices ENABLE ROW LEVEL SECURITY;
    ALTER TABLE known_devices FORCE ROW LEVEL SECURITY;
    CREATE POLICY known_devices_owner ON known_devices
      USING (app_privileged() OR user_id = app_user_id())
      WITH CHECK (app_privileged() OR user_id = app_user_id());

    GRANT SELECT, INSERT, UPDATE ON mfa_backup_codes, user_tokens, known_devices TO switchboard_app;
  `.execute(db);
}
