// Frozen in time: never import from src/ here; later changes go into new migrations.
//
// The kill switch (issue 17): an org is either in service or suspended, by the platform
// superuser (`suspension`) or by its own owner (`lockdown`, the "we were breached" button). The
// state lives on the org row itself: every channel that must refuse a suspended org (access
// tokens, API keys, webhooks, the dispatcher's claim, LiveKit tokens) reads the one row it already
// joins, and every instance polls the (small) set of suspended orgs. No new table, so no new
// row-level policy: orgs' policy (its own context or the privileged paths) holds.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE orgs
      ADD COLUMN suspended_at timestamptz,
      ADD COLUMN suspended_reason text CHECK (char_length(suspended_reason) BETWEEN 1 AND 500),
      ADD COLUMN suspended_by uuid REFERENCES users(id),
      ADD COLUMN suspension_kind text CHECK (suspension_kind IN ('lockdown', 'suspension')),
      -- All or nothing: a suspension always says when, why and which kind.
      ADD CONSTRAINT orgs_suspension_whole CHECK (
        (suspended_at IS NULL) = (suspension_kind IS NULL)
        AND (suspended_at IS NULL) = (suspended_reason IS NULL));

    -- Every instance reads the suspended set every REVOCATION_POLL_MS.
    CREATE INDEX orgs_suspended_idx ON orgs (id) WHERE suspended_at IS NOT NULL;

    -- Only the platform (the superuser's admin path, or the system path) resumes an org: a
    -- suspended org's own context - even its owner's - can never clear the mark. The code checks
    -- the same; this is the backstop.
    CREATE FUNCTION orgs_resume_privileged() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF OLD.suspended_at IS NOT NULL AND NEW.suspended_at IS NULL AND NOT app_privileged() THEN
        RAISE EXCEPTION 'only the platform resumes a suspended organization'
          USING ERRCODE = '42501';
      END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER orgs_resume_privileged BEFORE UPDATE ON orgs
      FOR EACH ROW EXECUTE FUNCTION orgs_resume_privileged();
  `.execute(db);
}
