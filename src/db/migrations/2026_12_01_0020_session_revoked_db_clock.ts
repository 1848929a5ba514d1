// Frozen in time: never import from src/ here; later changes go into new migrations.
//
// A session's revoked_at comes from the database's clock, whatever the revoking code wrote.
// Instances learn each other's revocations by polling `revoked_at >= watermark`, the watermark
// taken from the database's clock too: an instance whose own clock lagged stamped revocations
// that the others' watermarks had already passed, so a logged-out token kept working on every
// other instance until it expired. clock_timestamp() is read as the row is updated, as late as a
// statement can: what remains between the stamp and the commit is covered by the pollers' overlap.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE FUNCTION app_stamp_session_revoked() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.revoked_at := clock_timestamp();
      RETURN NEW;
    END
    $$;
    CREATE TRIGGER sessions_revoked_at_database_clock
      BEFORE UPDATE OF revoked_at ON sessions
      FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
      EXECUTE FUNCTION app_stamp_session_revoked();
  `.execute(db);
}
