// Frozen in time: never import from src/ here; later changes go into new migrations.
//
// The users and orgs policies reach memberships only when the cheap arms have not decided. Their
// third arm was `id IN (SELECT … FROM memberships …)`: a hashed SubPlan that the executor sets up
// (memberships and its index opened and locked, a bitmap scan built) for EVERY statement that
// touches users or orgs, even when the row is the caller's own (GET /auth/me: about a fifth of
// its database time, never executed). The same test now sits in a function, called only for a row
// the earlier arms did not admit. Same rows visible: the function runs as the caller (SECURITY
// INVOKER), so memberships' own policy still applies inside it, as it did inside the subquery;
// STABLE, so it reads the statement's snapshot. WITH CHECK is unchanged.
// A scan of many users or orgs now probes memberships once per row outside the caller's own
// (an index lookup each) instead of hashing the org's memberships once; the lists that do it
// (an org's members, the caller's orgs) are bounded by the memberships they join.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- The user shares the caller's org (the caller may see a fellow member).
    CREATE FUNCTION app_member_of_current_org(p_user_id uuid) RETURNS boolean
      LANGUAGE sql STABLE AS
      $$ SELECT EXISTS (SELECT 1 FROM memberships m
                         WHERE m.user_id = p_user_id AND m.org_id = app_org_id()) $$;
    -- The caller is a member of the org (the caller may see every org they belong to).
    CREATE FUNCTION app_current_user_member_of(p_org_id uuid) RETURNS boolean
      LANGUAGE sql STABLE AS
      $$ SELECT EXISTS (SELECT 1 FROM memberships m
                         WHERE m.org_id = p_org_id AND m.user_id = app_user_id()) $$;
    GRANT EXECUTE ON FUNCTION app_member_of_current_org(uuid), app_current_user_member_of(uuid)
      TO switchboard_app;

    ALTER POLICY users_tenant ON users
      USING (app_privileged() OR id = app_user_id() OR app_member_of_current_org(id));
    ALTER POLICY orgs_tenant ON orgs
      USING (app_privileged() OR id = app_org_id() OR app_current_user_member_of(id));
  `.execute(db);
}
