// Frozen in time: never import from src/ here; later changes go into new migrations.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // The unprivileged role every request runs as (SET LOCAL ROLE). Roles are cluster-wide, so
  // creating it must tolerate another database (or a parallel test run) having made it first.
  await sql`
    DO $$
    BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'switchboard_app') THEN
        CREATE ROLE switchboard_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT;
      END IF;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END $$;
  `.execute(db);
  await sql`
    DO $$
    BEGIN
      EXECUTE format('GRANT switchboard_app TO %I', current_user);
    EXCEPTION WHEN OTHERS THEN NULL; -- superusers need no grant; a failed grant shows at SET ROLE
    END $$;
  `.execute(db);

  // Tenant context accessors. Policies call these so the GUC names live in one place.
  // nullif: after a transaction that set them, custom settings read back as '' not NULL.
  await sql`
    CREATE FUNCTION app_org_id() RETURNS uuid LANGUAGE sql STABLE AS
      $$ SELECT nullif(current_setting('app.org_id', true), '')::uuid $$;
    CREATE FUNCTION app_user_id() RETURNS uuid LANGUAGE sql STABLE AS
      $$ SELECT nullif(current_setting('app.user_id', true), '')::uuid $$;
    CREATE FUNCTION app_role() RETURNS text LANGUAGE sql STABLE AS
      $$ SELECT nullif(current_setting('app.role', true), '') $$;
    -- Platform superuser (audited) or the system path (auth lookups, webhooks): may cross orgs.
    CREATE FUNCTION app_privileged() RETURNS boolean LANGUAGE sql STABLE AS
      $$ SELECT coalesce(current_setting('app.superuser', true), '') = 'on'
             OR coalesce(current_setting('app.system', true), '') = 'on' $$;
    -- Roles that see every row of their org, not only their own.
    CREATE FUNCTION app_sees_all_of_org() RETURNS boolean LANGUAGE sql STABLE AS
      $$ SELECT app_role() IN ('owner', 'admin', 'manager') $$;
  `.execute(db);

  await sql`
    CREATE TABLE orgs (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      name text NOT NULL,
      kind text NOT NULL CHECK (kind IN ('company', 'personal')),
      settings jsonb NOT NULL DEFAULT '{}'::jsonb,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE users (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      email text NOT NULL,
      password_hash text,
      full_name text,
      is_superuser boolean NOT NULL DEFAULT false,
      status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
      email_verified_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    -- Emails are stored normalised (trim, NFKC, lower case) by the code; this is the backstop.
    CREATE UNIQUE INDEX users_email_key ON users (lower(email));

    CREATE TABLE memberships (
      org_id uuid NOT NULL REFERENCES orgs(id),
      user_id uuid NOT NULL REFERENCES users(id),
      role text NOT NULL CHECK (role IN ('owner', 'admin', 'manager', 'member')),
      status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deactivated')),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (org_id, user_id)
    );
    CREATE INDEX memberships_user_idx ON memberships (user_id);

    CREATE TABLE prompts (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      org_id uuid NOT NULL REFERENCES orgs(id),
      owner_id uuid NOT NULL REFERENCES users(id),
      name text NOT NULL,
      content text NOT NULL,
      description text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      deleted_at timestamptz
    );
    CREATE INDEX prompts_org_list_idx ON prompts (org_id, id DESC) WHERE deleted_at IS NULL;
  `.execute(db);

  // Row-level security, enabled and FORCED (so even the table owner is subject to it).
  // A query without tenant context sees nothing: app_org_id() is NULL and NULL = x is not true.
  await sql`
    ALTER TABLE orgs ENABLE ROW LEVEL SECURITY;
    ALTER TABLE orgs FORCE ROW LEVEL SECURITY;
    CREATE POLICY orgs_tenant ON orgs
      USING (app_privileged() OR id = app_org_id()
             OR id IN (SELECT m.org_id FROM memberships m WHERE m.user_id = app_user_id()))
      WITH CHECK (app_privileged() OR id = app_org_id());

    ALTER TABLE users ENABLE ROW LEVEL SECURITY;
    ALTER TABLE users FORCE ROW LEVEL SECURITY;
    -- A user sees itself and the people of its current org; writes only to itself.
    CREATE POLICY users_tenant ON users
      USING (app_privileged() OR id = app_user_id()
             OR id IN (SELECT m.user_id FROM memberships m WHERE m.org_id = app_org_id()))
      WITH CHECK (app_privileged() OR id = app_user_id());

    ALTER TABLE memberships ENABLE ROW LEVEL SECURITY;
    ALTER TABLE memberships FORCE ROW LEVEL SECURITY;
    CREATE POLICY memberships_tenant ON memberships
      USING (app_privileged() OR org_id = app_org_id() OR user_id = app_user_id())
      WITH CHECK (app_privileged() OR (org_id = app_org_id() AND app_role() IN ('owner', 'admin')));

    ALTER TABLE prompts ENABLE ROW LEVEL SECURITY;
    ALTER TABLE prompts FORCE ROW LEVEL SECURITY;
    CREATE POLICY prompts_tenant ON prompts
      USING (app_privileged()
             OR (org_id = app_org_id() AND (app_sees_all_of_org() OR owner_id = app_user_id())))
      WITH CHECK (app_privileged()
             OR (org_id = app_org_id() AND (app_sees_all_of_org() OR owner_id = app_user_id())));
  `.execute(db);

  await sql`
    GRANT USAGE ON SCHEMA public TO switchboard_app;
    GRANT SELECT, INSERT, UPDATE ON orgs, users, memberships, prompts TO switchboard_app;
    GRANT EXECUTE ON FUNCTION app_org_id(), app_user_id(), app_role(), app_privileged(),
      app_sees_all_of_org() TO switchboard_app;
  `.execute(db);
}
