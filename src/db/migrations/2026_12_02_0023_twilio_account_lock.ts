// Frozen in time: never import from src/ here; later changes go into new migrations.
//
// Verifying a number checks it on the org's Twilio account over the network, then marks it
// verified. Changing the org's account resets its verified numbers to pending, and a number still
// pending at that moment was not reset: a verification proven on the old account and committed
// after the change left a number verified by an account that no longer serves the org. The mark
// is now taken under a share lock on the org's credentials row, with the account read again under
// it: a change waits for the mark (and then resets it), or committed first and is seen. Every
// member may verify their own numbers but only owners and admins read the credentials, so this
// function returns the account sid of the caller's own org alone (app_org_id(), never a
// parameter) with the policies' system flag on for its duration, and never the token.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE FUNCTION app_lock_twilio_account() RETURNS text
      LANGUAGE sql VOLATILE SET app.system = 'on' AS $$
        SELECT account_sid FROM org_twilio_credentials
          WHERE org_id = app_org_id() AND app_org_id() IS NOT NULL AND deleted_at IS NULL
          FOR SHARE;
      $$;
    REVOKE ALL ON FUNCTION app_lock_twilio_account() FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION app_lock_twilio_account() TO switchboard_app;
  `.execute(db);
}
