// Frozen in time: never import from src/ here; later changes go into new migrations.
//
// An agent's or a message agent's prompt must be one of its own org's prompts. The services check
// it (src/voice/refs.ts), but the foreign keys of 0006 referenced prompts(id) alone, so a bug or a
// system-context write could still point an org's agent at another org's prompt, whose content
// would then be spoken to that org's callers. As for phones and agents, the key now includes the
// org: a reference across orgs is impossible in the database itself. A missing prompt (NULL)
// references nothing, as before (MATCH SIMPLE). A reference across orgs already stored (which the
// key would refuse, stopping every instance's start here) is cleared first: it is the leak itself,
// and its agent goes on without a prompt.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- Row-level security is forced on the table owner too: the data fix acts as the system.
    SELECT set_config('app.system', 'on', true);
    UPDATE agents a SET prompt_id = NULL FROM prompts p
     WHERE a.prompt_id = p.id AND p.org_id <> a.org_id;
    UPDATE message_agents a SET prompt_id = NULL FROM prompts p
     WHERE a.prompt_id = p.id AND p.org_id <> a.org_id;
    SELECT set_config('app.system', '', true);
    ALTER TABLE prompts ADD CONSTRAINT prompts_org_id_id_key UNIQUE (org_id, id);
    ALTER TABLE agents DROP CONSTRAINT agents_prompt_id_fkey;
    ALTER TABLE agents ADD CONSTRAINT agents_org_prompt_fkey
      FOREIGN KEY (org_id, prompt_id) REFERENCES prompts (org_id, id);
    ALTER TABLE message_agents DROP CONSTRAINT message_agents_prompt_id_fkey;
    ALTER TABLE message_agents ADD CONSTRAINT message_agents_org_prompt_fkey
      FOREIGN KEY (org_id, prompt_id) REFERENCES prompts (org_id, id);
  `.execute(db);
}
