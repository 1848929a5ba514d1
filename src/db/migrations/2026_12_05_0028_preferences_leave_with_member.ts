// Frozen in time: never import from src/ here; later changes go into new migrations.
//
// A member's preferences leave the org with them. Until now a removed member's row was left
// behind with the deactivated membership (0012): personal data of someone no longer in the org,
// which no admin or agent of the org could see or delete, and which their agents used again if the
// person was ever added back. Removing a member (src/orgs/members.ts) now deletes their row in the
// removal's transaction, under the remover's context (an owner or admin of the org, or the
// superuser acting in it):
// - DELETE is granted to the app role (the table had none). user_preferences_owner, a policy for
//   every command, already admits the person's own row and the org service context's rows.
// - An owner or admin may read and delete, in their org, only the rows of a membership that is
//   no longer active: a removal deactivates the membership first, then deletes. A DELETE that
//   names columns needs the SELECT policies to pass too, hence the read arm; it admits no active
//   member's row, so the org's owners and admins still never read a member's preferences (and
//   after this migration, rows of inactive memberships exist only inside a removal).
// - The rows removed members left behind are deleted here, as the system.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    GRANT DELETE ON user_preferences TO switchboard_app;

    CREATE POLICY user_preferences_removed_member_read ON user_preferences FOR SELECT
      USING (org_id = (SELECT app_org_id()) AND (SELECT app_role()) IN ('owner', 'admin')
             AND NOT EXISTS (SELECT 1 FROM memberships m
                              WHERE m.org_id = user_preferences.org_id
                                AND m.user_id = user_preferences.user_id
                                AND m.status = 'active'));
    CREATE POLICY user_preferences_removed_member_delete ON user_preferences FOR DELETE
      USING (org_id = (SELECT app_org_id()) AND (SELECT app_role()) IN ('owner', 'admin')
             AND NOT EXISTS (SELECT 1 FROM memberships m
                              WHERE m.org_id = user_preferences.org_id
                                AND m.user_id = user_preferences.user_id
                                AND m.status = 'active'));

    -- Row-level security is forced on the table owner too: the data fix acts as the system.
    SELECT set_config('app.system', 'on', true);
    DELETE FROM user_preferences p
     WHERE NOT EXISTS (SELECT 1 FROM memberships m
                        WHERE m.org_id = p.org_id AND m.user_id = p.user_id
                          AND m.status = 'active');
    SELECT set_config('app.system', '', true);
  `.execute(db);
}
