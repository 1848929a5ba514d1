// Frozen in time: never import from src/ here; later changes go into new migrations.
//
// Outbound calling rules of an org (issue 17):
// - org_calling_windows: at most one row per org: the IANA time zone, the ISO weekdays (1 = Monday
//   … 7 = Sunday) and the local hours [start_minute, end_minute) in which scheduled calls may be
//   placed. No row: no restriction. The application validates the zone (Intl); the CHECKs are the
//   backstop for the rest.
// - do_not_call_numbers: the org's do-not-call list, one row per E.164 number, with who added it
//   and why. Scheduling a call to a listed number is refused; adding one cancels the pending calls
//   to it; the dispatcher refuses listed numbers at claim time.
// - scheduled_calls.recipient_time_zone: the window's hours apply in the recipient's zone when set.
// Everyone in the org reads both tables; owners, admins and managers (app_sees_all_of_org) write
// them (the service narrows the window to owners and admins).
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE org_calling_windows (
      org_id uuid PRIMARY KEY REFERENCES orgs(id),
      time_zone text NOT NULL CHECK (length(time_zone) BETWEEN 1 AND 64),
      days smallint[] NOT NULL
        CHECK (cardinality(days) BETWEEN 1 AND 7 AND days <@ ARRAY[1,2,3,4,5,6,7]::smallint[]),
      start_minute integer NOT NULL CHECK (start_minute BETWEEN 0 AND 1439),
      end_minute integer NOT NULL CHECK (end_minute BETWEEN 1 AND 1440),
      updated_by uuid REFERENCES users(id),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CHECK (start_minute < end_minute)
    );

    CREATE TABLE do_not_call_numbers (
      id uuid PRIMARY KEY,
      org_id uuid NOT NULL REFERENCES orgs(id),
      number text NOT NULL CHECK (number ~ '^[+][1-9][0-9]{6,14}$'),
      reason text NOT NULL DEFAULT '' CHECK (length(reason) <= 500),
      added_by uuid REFERENCES users(id),
      created_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (org_id, number)
    );
    CREATE INDEX do_not_call_numbers_org_list_idx ON do_not_call_numbers (org_id, id DESC);

    ALTER TABLE scheduled_calls ADD COLUMN recipient_time_zone text
      CHECK (recipient_time_zone IS NULL OR length(recipient_time_zone) BETWEEN 1 AND 64);
    -- The pending calls to one number: what adding it to the list cancels.
    CREATE INDEX scheduled_calls_pending_to_idx ON scheduled_calls (org_id, to_number)
      WHERE status = 'pending' AND deleted_at IS NULL;

    ALTER TABLE org_calling_windows ENABLE ROW LEVEL SECURITY;
    ALTER TABLE org_calling_windows FORCE ROW LEVEL SECURITY;
    CREATE POLICY org_calling_windows_tenant ON org_calling_windows
      USING (app_privileged() OR org_id = app_org_id())
      WITH CHECK (app_privileged() OR (org_id = app_org_id() AND app_sees_all_of_org()));

    ALTER TABLE do_not_call_numbers ENABLE ROW LEVEL SECURITY;
    ALTER TABLE do_not_call_numbers FORCE ROW LEVEL SECURITY;
    CREATE POLICY do_not_call_numbers_tenant ON do_not_call_numbers
      USING (app_privileged() OR org_id = app_org_id())
      WITH CHECK (app_privileged() OR (org_id = app_org_id() AND app_sees_all_of_org()));

    GRANT SELECT, INSERT, UPDATE, DELETE ON org_calling_windows TO switchboard_app;
    GRANT SELECT, INSERT, DELETE ON do_not_call_numbers TO switchboard_app;
  `.execute(db);
}
