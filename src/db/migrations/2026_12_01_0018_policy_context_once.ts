// Frozen in time: never import from src/ here; later changes go into new migrations.
//
// The policies read the tenant context through app_org_id(), app_user_id(), app_role(),
// app_privileged(), app_sees_all_of_org() and app_org_service(): SQL functions that PostgreSQL
// inlines, so a bare call is evaluated again for EVERY row a statement reads or writes (a
// current_setting lookup, a text-to-uuid cast, a comparison), six or more calls per row of a
// list. Wrapped as `(SELECT app_org_id())`, each is an uncorrelated scalar subquery: an InitPlan
// the executor evaluates once per statement execution, before the first row, and reads as a
// parameter after. Same answer: the context is transaction-local and never changes within a
// statement. Still usable as an index condition (`org_id = $initplan`).
//
// Every policy of the schema is rewritten the same way, by rule rather than restated by hand: its
// expression as PostgreSQL prints it (pg_get_expr, what pg_dump restores from) with each bare call
// of those six functions wrapped, nothing else changed. The functions taking a row's column
// (app_member_of_current_org(id), …) stay per row, as they must. src/db/rls.test.ts checks
// that no policy, now or added later, calls a context function bare.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql
    .raw(String.raw`
    DO $$
    DECLARE
      p record;
      bare constant text :=
        '\m(app_(?:org_id|user_id|role|privileged|sees_all_of_org|org_service))\(\)';
    BEGIN
      FOR p IN
        SELECT pol.polname, pol.polrelid::regclass::text AS rel,
               pg_get_expr(pol.polqual, pol.polrelid) AS qual,
               pg_get_expr(pol.polwithcheck, pol.polrelid) AS checked
          FROM pg_policy pol
          JOIN pg_class c ON c.oid = pol.polrelid
         WHERE c.relnamespace = current_schema()::regnamespace
      LOOP
        IF p.qual IS NOT NULL THEN
          EXECUTE format('ALTER POLICY %I ON %s USING (%s)', p.polname, p.rel,
                         regexp_replace(p.qual, bare, '(SELECT \1())', 'g'));
        END IF;
        IF p.checked IS NOT NULL THEN
          EXECUTE format('ALTER POLICY %I ON %s WITH CHECK (%s)', p.polname, p.rel,
                         regexp_replace(p.checked, bare, '(SELECT \1())', 'g'));
        END IF;
      END LOOP;
    END
    $$;
  `)
    .execute(db);
}
