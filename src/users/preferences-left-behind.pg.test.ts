// Migration 0028 over what a running system already holds: the preferences a removed member left
// behind before removals deleted them (their membership deactivated, their row kept) are deleted;
// an active member's stay. Runs only with DATABASE_URL: the database is taken back to before 0028
// by hand, with rows, and migrated again.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { migrateToLatest } from '../db/migrate.ts';
import { withSystem } from '../db/tenant.ts';
import { createTestDatabase, type TestDatabase } from '../test/db.ts';
import { createTeam } from '../test/factories.ts';
import { undoMigrationsFrom } from '../test/migration-undo.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database?.close());

it('0028 deletes the preferences removed members left behind, and only theirs', async () => {
  await undoMigrationsFrom(database.url!, '2026_12_05_0028');
  const a = await createTeam(database);
  await withSystem(database, async (tx) => {
    await tx
      .insertInto('user_preferences')
      .values([
        { org_id: a.org.id, user_id: a.member.id, preferences: JSON.stringify({ name: 'Sam' }) },
        { org_id: a.org.id, user_id: a.member2.id, preferences: JSON.stringify({ lang: 'fr' }) },
      ])
      .execute();
    // Removed before 0028: the membership deactivated, the row left.
    await tx
      .updateTable('memberships')
      .set({ status: 'deactivated' })
      .where('org_id', '=', a.org.id)
      .where('user_id', '=', a.member.id)
      .execute();
  });

  expect(await migrateToLatest(database.db)).toEqual([
    '2026_12_05_0028_preferences_leave_with_member',
    '2026_12_05_0029_preferences_delete_on_removal_only',
    '2026_12_05_0030_invitation_one_open_per_address',
  ]);
  const left = await withSystem(database, (tx) =>
    tx
      .selectFrom('user_preferences')
      .select(['user_id', 'preferences'])
      .where('org_id', '=', a.org.id)
      .execute(),
  );
  expect(left).toEqual([{ user_id: a.member2.id, preferences: { lang: 'fr' } }]);
});
