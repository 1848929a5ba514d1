// Migrations that change constraints over data a running system already holds: they must apply to
// it, not stop every instance's start at the step. Migration 0026 puts agents' and message
// agents' prompts under a key on (org_id, id); a reference across orgs stored before it (the leak
// the key closes) is cleared, a reference within the org kept. Migration 0027 gives a call the
// window put off its due time back. Runs only with DATABASE_URL: the
// database is taken back to before 0026 by hand, with rows, and migrated again.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newId } from '../http/ids.ts';
import { createTestDatabase, type TestDatabase } from '../test/db.ts';
import { createTeam } from '../test/factories.ts';
import { undoMigrationsFrom } from '../test/migration-undo.ts';
import { uniqueNumber } from '../test/twilio.ts';
import { migrateToLatest } from './migrate.ts';
import { withSystem } from './tenant.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database?.close());

it("0026 and 0027 apply over a system's data: another org's prompt reference cleared, a window's old deferral dropped", async () => {
  // Before 0026 (and so before 0027, which the migrator would otherwise find applied).
  await undoMigrationsFrom(database.url!, '2026_12_04_0026');
  const a = await createTeam(database);
  const b = await createTeam(database);
  const ids = { phone: newId(), ours: newId(), theirs: newId(), leaking: newId(), kept: newId() };
  const texter = newId();
  const deferred = newId();
  const due = new Date(Date.now() - 60_000);
  await withSystem(database, async (tx) => {
    await tx
      .insertInto('prompts')
      .values([
        { id: ids.ours, org_id: a.org.id, owner_id: a.owner.id, name: 'ours', content: 'c' },
        { id: ids.theirs, org_id: b.org.id, owner_id: b.owner.id, name: 'theirs', content: 'c' },
      ])
      .execute();
    await tx
      .insertInto('phones')
      .values({
        id: ids.phone,
        org_id: a.org.id,
        owner_id: a.owner.id,
        number: uniqueNumber(),
        label: null,
        active: true,
      })
      .execute();
    const agent = (id: string, prompt_id: string) => ({
      id,
      org_id: a.org.id,
      owner_id: a.owner.id,
      name: id,
      direction: 'outgoing' as const,
      phone_id: ids.phone,
      prompt_id,
      instructions: null,
      greeting: null,
      voice: null,
      language: null,
      media_stream_url: null,
      active: true,
    });
    await tx
      .insertInto('agents')
      .values([agent(ids.leaking, ids.theirs), agent(ids.kept, ids.ours)])
      .execute();
    await tx
      .insertInto('message_agents')
      .values({
        id: texter,
        org_id: a.org.id,
        owner_id: a.owner.id,
        name: 'texter',
        phone_id: ids.phone,
        prompt_id: ids.theirs,
        auto_reply: null,
        active: true,
      })
      .execute();
    // A call the window put off before 0027: its next attempt moved past its due time.
    await tx
      .insertInto('scheduled_calls')
      .values({
        id: deferred,
        org_id: a.org.id,
        owner_id: a.owner.id,
        agent_id: ids.kept,
        to_number: '+14155550123',
        scheduled_at: due,
        next_attempt_at: new Date(due.getTime() + 6 * 3600_000),
      })
      .execute();
  });

  expect(await migrateToLatest(database.db)).toEqual([
    '2026_12_04_0026_prompt_org_keys',
    '2026_12_04_0027_scheduled_call_window_deferral',
    '2026_12_05_0028_preferences_leave_with_member',
    '2026_12_05_0029_preferences_delete_on_removal_only',
    '2026_12_05_0030_invitation_one_open_per_address',
  ]);
  const prompts = await withSystem(database, async (tx) => ({
    agents: await tx
      .selectFrom('agents')
      .select(['id', 'prompt_id'])
      .where('org_id', '=', a.org.id)
      .orderBy('name')
      .execute(),
    texter: await tx
      .selectFrom('message_agents')
      .select('prompt_id')
      .where('id', '=', texter)
      .executeTakeFirstOrThrow(),
  }));
  expect(Object.fromEntries(prompts.agents.map((r) => [r.id, r.prompt_id]))).toEqual({
    [ids.leaking]: null,
    [ids.kept]: ids.ours,
  });
  expect(prompts.texter.prompt_id).toBeNull();
  // 0027 gives the call its due time back and no deferral: the claim applies the window as it is.
  const call = await withSystem(database, (tx) =>
    tx
      .selectFrom('scheduled_calls')
      .select(['next_attempt_at', 'window_deferred_until'])
      .where('id', '=', deferred)
      .executeTakeFirstOrThrow(),
  );
  expect(call).toEqual({ next_attempt_at: due, window_deferred_until: null });
});
