// Prompt use cases: the rules (who may see and change what) live here and in the owned-resource
// kit; SQL lives in the repository; each use case is one transaction under the caller's tenant
// context.
//
// A prompt decides what an agent says to callers: creating, changing and deleting one is audited
// (`prompt.create`, `prompt.update` with the fields sent as `changed`, `prompt.delete`) in the
// transaction of the change, through recordAct (an API key's act names the key). The entry names
// the prompt and the length of its content, never the content (long, and possibly confidential
// business text); a refused change records nothing, and reads are not audited.
import { type OwnedListQuery, ownedResource } from '../access/owned-resource.ts';
import type { Principal } from '../access/principal.ts';
import { type Act, recordAct } from '../audit/audit.ts';
import type { Database } from '../db/database.ts';
import type { Prompt } from '../db/schema.ts';
import type { Tx } from '../db/tenant.ts';
import { notFound } from '../http/errors.ts';
import type { RequestMeta } from '../http/request-meta.ts';
import * as repo from './prompt.repository.ts';

export interface PromptInput {
  name: string;
  content: string;
  description?: string | null;
}

/** Characters (code points), as the body's maxLength and the database's char_length count them. */
function charLength(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

function recordPromptAct(
  tx: Tx,
  meta: RequestMeta,
  p: Principal,
  action: 'prompt.create' | 'prompt.update' | 'prompt.delete',
  prompt: Pick<Prompt, 'id' | 'name' | 'content'>,
  metadata: Act['metadata'] = {},
): Promise<void> {
  return recordAct(tx, meta, p, {
    action,
    target_type: 'prompt',
    target_id: prompt.id,
    metadata: Object.assign({ name: prompt.name }, metadata, {
      content_length: charLength(prompt.content),
    }),
  });
}

export function createPromptService(database: Database) {
  const prompts = ownedResource(database, {
    resource: 'prompts',
    noun: 'prompt',
    find: repo.findPrompt,
  });
  return {
    create(p: Principal, input: PromptInput, meta: RequestMeta): Promise<Prompt> {
      return prompts.create(p, async (tx, owned) => {
        const row = await repo.insertPrompt(tx, {
          ...owned,
          name: input.name,
          content: input.content,
          description: input.description ?? null,
        });
        await recordPromptAct(tx, meta, p, 'prompt.create', row);
        return row;
      });
    },

    list(p: Principal, q: OwnedListQuery & { q?: string }) {
      return prompts.list(p, q, (tx, scope) =>
        repo.listPrompts(tx, p.orgId, Object.assign({ q: q.q }, scope)),
      );
    },

    get: prompts.get,

    update(
      p: Principal,
      id: string,
      patch: Partial<PromptInput>,
      meta: RequestMeta,
    ): Promise<Prompt> {
      return prompts.update(p, id, patch, async (tx) => {
        const row = prompts.found(await repo.updatePrompt(tx, p.orgId, id, patch));
        await recordPromptAct(tx, meta, p, 'prompt.update', row, {
          changed: Object.keys(patch).sort().join(' '),
        });
        return row;
      });
    },

    /** A delete that lost a race to another is the 404 of a deleted prompt, and records nothing. */
    remove(p: Principal, id: string, meta: RequestMeta): Promise<void> {
      return prompts.manage(p, id, async (tx, row) => {
        if (!(await repo.softDeletePrompt(tx, p.orgId, id))) throw notFound('prompt');
        await recordPromptAct(tx, meta, p, 'prompt.delete', row);
      });
    },
  };
}

export type PromptService = ReturnType<typeof createPromptService>;
