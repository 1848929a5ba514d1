// Frozen in time: never import from src/ here; later changes go into new migrations.
//
// Concurrency quotas (src/quotas/). `org_quotas` holds an org's own limits, each NULL meaning the
// platform's (QUOTA_* settings); owners and admins set them, never above the platform's bound
// (the service checks that, the CHECKs here keep them sane). `quota_leases` is the database
// counter used when REDIS_URL is unset: one row per held slot (a live call, a voice session, a
// device socket, a scheduled call placed today), expiring at `expires_at` so a slot whose end
// event never came is reclaimed.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE org_quotas (
      org_id uuid PRIMARY KEY REFERENCES orgs(id),
      max_live_calls integer CHECK (max_live_calls >= 0),
      inbound_reserved_calls integer CHECK (inbound_reserved_calls >= 0),
      max_voice_sessions integer CHECK (max_voice_sessions >= 0),
      max_device_sockets integer CHECK (max_device_sockets >= 0),
      max_scheduled_calls_per_day integer CHECK (max_scheduled_calls_per_day >= 0),
      updated_by uuid REFERENCES users(id),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CHECK (inbound_reserved_calls IS NULL OR max_live_calls IS NULL
             OR inbound_reserved_calls <= max_live_calls)
    );

    CREATE TABLE quota_leases (
      org_id uuid NOT NULL REFERENCES orgs(id),
      kind text NOT NULL CHECK (kind IN ('live_calls', 'voice_sessions', 'device_sockets',
                                         'scheduled_calls_per_day')),
      lease_id text NOT NULL CHECK (length(lease_id) BETWEEN 1 AND 200),
      expires_at timestamptz NOT NULL,
      PRIMARY KEY (org_id, kind, lease_id)
    );
    CREATE INDEX quota_leases_expiry_idx ON quota_leases (org_id, kind, expires_at);
  `.execute(db);

  await sql`
    ALTER TABLE org_quotas ENABLE ROW LEVEL SECURITY;
    ALTER TABLE org_quotas FORCE ROW LEVEL SECURITY;
    -- Everyone in the org (and the org service: webhooks, the dispatcher) reads its limits;
    -- only owners and admins write them.
    CREATE POLICY org_quotas_read ON org_quotas FOR SELECT
      USING (app_privileged() OR org_id = app_org_id());
    CREATE POLICY org_quotas_insert ON org_quotas FOR INSERT
      WITH CHECK (org_id = app_org_id() AND app_role() IN ('owner', 'admin'));
    CREATE POLICY org_quotas_update ON org_quotas FOR UPDATE
      USING (org_id = app_org_id() AND app_role() IN ('owner', 'admin'))
      WITH CHECK (org_id = app_org_id() AND app_role() IN ('owner', 'admin'));

    ALTER TABLE quota_leases ENABLE ROW LEVEL SECURITY;
    ALTER TABLE quota_leases FORCE ROW LEVEL SECURITY;
    -- Leases are taken and released in the org's own context only (the code that issues a
    -- credential, or ends one), never across orgs.
    CREATE POLICY quota_leases_org ON quota_leases
      USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id());

    GRANT SELECT, INSERT, UPDATE ON org_quotas TO switchboard_app;
    GRANT SELECT, INSERT, UPDATE, DELETE ON quota_leases TO switchboard_app;

    -- Take a slot of the caller's org (app_org_id(), never a parameter), atomically: a per-org,
    -- per-kind transaction lock first, so concurrent acquirers queue; then expired leases are
    -- dropped, the live ones counted, and the lease added when below the limit. A lease already
    -- held is renewed (its expiry moves later) whatever the count: acquiring is idempotent.
    -- VOLATILE: each statement sees what the lock's previous holder committed. The commit does not
    -- wait for the disk (synchronous_commit off, this transaction only): a lease lost to a crash
    -- frees its slot early, which is all a crash could cost, and an issue never waits on fsync.
    CREATE FUNCTION app_acquire_quota_lease(p_kind text, p_lease_id text, p_limit integer,
                                            p_expires_at timestamptz, p_now timestamptz)
      RETURNS TABLE (acquired boolean, live integer) LANGUAGE plpgsql VOLATILE AS $$
    DECLARE
      org uuid := app_org_id();
      held boolean;
      n integer;
    BEGIN
      IF org IS NULL THEN
        RAISE EXCEPTION 'quota lease without an org context' USING ERRCODE = '42501';
      END IF;
      PERFORM set_config('synchronous_commit', 'off', true);
      PERFORM pg_advisory_xact_lock(70170014, hashtext(org::text || ':' || p_kind));
      DELETE FROM quota_leases q
        WHERE q.org_id = org AND q.kind = p_kind AND q.expires_at <= p_now;
      SELECT EXISTS (SELECT 1 FROM quota_leases q
                     WHERE q.org_id = org AND q.kind = p_kind AND q.lease_id = p_lease_id)
        INTO held;
      SELECT count(*) INTO n FROM quota_leases q WHERE q.org_id = org AND q.kind = p_kind;
      IF held THEN
        UPDATE quota_leases q SET expires_at = greatest(q.expires_at, p_expires_at)
          WHERE q.org_id = org AND q.kind = p_kind AND q.lease_id = p_lease_id;
        RETURN QUERY SELECT true, n;
        RETURN;
      END IF;
      IF n >= p_limit THEN
        RETURN QUERY SELECT false, n;
        RETURN;
      END IF;
      INSERT INTO quota_leases (org_id, kind, lease_id, expires_at)
        VALUES (org, p_kind, p_lease_id, p_expires_at);
      RETURN QUERY SELECT true, n + 1;
    END $$;
    REVOKE ALL ON FUNCTION app_acquire_quota_lease(text, text, integer, timestamptz, timestamptz)
      FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION app_acquire_quota_lease(text, text, integer, timestamptz, timestamptz)
      TO switchboard_app;

    -- Give leases of the caller's org back (the end event); as above, without waiting for the disk.
    CREATE FUNCTION app_release_quota_leases(p_kind text, p_lease_ids text[])
      RETURNS integer LANGUAGE plpgsql VOLATILE AS $$
    DECLARE
      n integer;
    BEGIN
      PERFORM set_config('synchronous_commit', 'off', true);
      DELETE FROM quota_leases q
        WHERE q.org_id = app_org_id() AND q.kind = p_kind AND q.lease_id = ANY (p_lease_ids);
      GET DIAGNOSTICS n = ROW_COUNT;
      RETURN n;
    END $$;
    REVOKE ALL ON FUNCTION app_release_quota_leases(text, text[]) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION app_release_quota_leases(text, text[]) TO switchboard_app;
  `.execute(db);
}
