// Taking a PostgreSQL test database back to before a recent migration, for the tests that migrate
// a database holding what an older release left (src/db/timeouts.pg.test.ts,
// src/db/migration-data.pg.test.ts). The migrator runs only what follows the last migration
// applied, so going back to one means undoing every later one too: a new migration adds its undo
// here, first in the list.
import pg from 'pg';

const UNDO: readonly (readonly [migration: string, sql: string])[] = [
  ['2026_12_05_0030', 'DROP INDEX invitations_one_open_per_address;'],
  ['2026_12_05_0029', 'DROP POLICY user_preferences_delete_on_removal_only ON user_preferences;'],
  [
    '2026_12_05_0028',
    `DROP POLICY user_preferences_removed_member_delete ON user_preferences;
     DROP POLICY user_preferences_removed_member_read ON user_preferences;
     REVOKE DELETE ON user_preferences FROM switchboard_app;`,
  ],
  [
    '2026_12_04_0027',
    `DROP INDEX scheduled_calls_due_idx;
     CREATE INDEX scheduled_calls_due_idx ON scheduled_calls (next_attempt_at)
       WHERE status = 'pending' AND deleted_at IS NULL;
     ALTER TABLE scheduled_calls DROP COLUMN window_deferred_until;`,
  ],
  [
    '2026_12_04_0026',
    `ALTER TABLE message_agents DROP CONSTRAINT message_agents_org_prompt_fkey;
     ALTER TABLE message_agents ADD FOREIGN KEY (prompt_id) REFERENCES prompts(id);
     ALTER TABLE agents DROP CONSTRAINT agents_org_prompt_fkey;
     ALTER TABLE agents ADD FOREIGN KEY (prompt_id) REFERENCES prompts(id);
     ALTER TABLE prompts DROP CONSTRAINT prompts_org_id_id_key;`,
  ],
  [
    '2026_12_04_0025',
    `ALTER TABLE signing_keys DROP CONSTRAINT signing_keys_withdrawn_retired;
     ALTER TABLE signing_keys DROP COLUMN withdrawn_at;`,
  ],
  ['2026_12_04_0024', 'ALTER TABLE voice_sessions DROP COLUMN room_sid;'],
  ['2026_12_02_0023', 'DROP FUNCTION app_lock_twilio_account();'],
  ['2026_12_02_0022', 'ALTER TABLE voice_sessions DROP COLUMN participant_sid;'],
];

/** Undoes `migration` (a name's date and number, e.g. '2026_12_04_0026') and every later one. */
export async function undoMigrationsFrom(url: string, migration: string): Promise<void> {
  if (!UNDO.some(([name]) => name === migration)) {
    throw new Error(`no undo for migration ${migration}: add it to src/test/migration-undo.ts`);
  }
  const owner = new pg.Client({ connectionString: url });
  await owner.connect();
  try {
    const steps = UNDO.filter(([name]) => name >= migration).map(([, sql]) => sql);
    await owner.query(
      `${steps.join('\n')}\nDELETE FROM kysely_migration WHERE name >= '${migration}';`,
    );
  } finally {
    await owner.end();
  }
}
