// Frozen in time: never import from src/ here; later changes go into new migrations.
//
// Phone number ownership. Before this, any org could register a number another org used and, by
// activating it, receive that number's calls. Now a number routes or places calls only once its
// ownership is proven: found on the org's own Twilio account (POST /api/phones/{id}/verify), or,
// on the shared platform account, assigned to the org by the platform superuser. Until then it is
// `pending_verification` and inert. Existing rows become `pending_verification` too: nothing
// proved their ownership (see the README's upgrade note).
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE phones
      ADD COLUMN verification_status text NOT NULL DEFAULT 'pending_verification'
        CHECK (verification_status IN ('pending_verification', 'verified')),
      -- How the ownership was proven: on the org's own account, or by the platform superuser.
      ADD COLUMN verification_method text
        CHECK (verification_method IN ('twilio_account', 'platform_assignment')),
      ADD COLUMN verified_at timestamptz,
      ADD CONSTRAINT phones_verified_has_method
        CHECK ((verification_status = 'verified') = (verification_method IS NOT NULL
                                                     AND verified_at IS NOT NULL));

    -- Routing used to be decided by "active in one org at a time", which the first org to
    -- activate a number won. Ownership decides now: at most one org holds a number verified. The
    -- index spans tenants on purpose (row-level security hides other orgs' rows from queries, not
    -- from a unique index); a conflict is never reported to the losing org as such.
    DROP INDEX phones_number_routes_once;
    CREATE UNIQUE INDEX phones_number_verified_once ON phones (number)
      WHERE verification_status = 'verified' AND deleted_at IS NULL;
  `.execute(db);

  await sql`
    -- Verifying a number reads the org's own Twilio account; the person asking (a manager or a
    -- member with their own number) may not read the credentials, so the service reads them in
    -- the org service context, which may read its own org's row and nothing else.
    CREATE POLICY org_twilio_credentials_org_service ON org_twilio_credentials FOR SELECT
      USING (org_id = app_org_id() AND app_org_service());

    -- The per-org cap on pending scheduled calls (SCHEDULED_CALLS_MAX_PENDING) must count every
    -- member's calls, while a member's own context sees only their own. This function counts the
    -- caller's org only (app_org_id(), never a parameter) with the policies' system flag on for
    -- its duration, and first takes a per-org transaction lock so concurrent inserts cannot both
    -- pass the check. It returns a number, never rows.
    CREATE FUNCTION app_lock_and_count_pending_scheduled_calls() RETURNS bigint
      LANGUAGE sql VOLATILE SET app.system = 'on' AS $$
        SELECT pg_advisory_xact_lock(70070007, hashtext(app_org_id()::text));
        SELECT count(*) FROM scheduled_calls
          WHERE org_id = app_org_id() AND app_org_id() IS NOT NULL
            AND status IN ('pending', 'dispatching') AND deleted_at IS NULL;
      $$;
    REVOKE ALL ON FUNCTION app_lock_and_count_pending_scheduled_calls() FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION app_lock_and_count_pending_scheduled_calls() TO switchboard_app;
  `.execute(db);
}
