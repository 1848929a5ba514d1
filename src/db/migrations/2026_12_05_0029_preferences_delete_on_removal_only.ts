// Frozen in time: never import from src/ here; later changes go into new migrations.
//
// 0028 granted DELETE on user_preferences so that a member's removal can delete their map. But
// user_preferences_owner, a policy for every command, admits the person's own row and every row
// of the org service context (the agent routes' transactions), so those could now delete a map
// too, which no code does and none should: a map is changed by writes, and deleted only when its
// membership ends. This restrictive policy makes that the database's rule: a row is deleted only
// once its membership is no longer active (inside a removal: src/orgs/members.ts), or on the
// system path (data fixes such as 0028's).
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE POLICY user_preferences_delete_on_removal_only ON user_preferences
      AS RESTRICTIVE FOR DELETE
      USING ((SELECT app_privileged())
             OR NOT EXISTS (SELECT 1 FROM memberships m
                             WHERE m.org_id = user_preferences.org_id
                               AND m.user_id = user_preferences.user_id
                               AND m.status = 'active'));
  `.execute(db);
}
