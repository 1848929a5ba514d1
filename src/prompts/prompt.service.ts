// Prompt use cases: the rules (who may see and change what) live here and in the owned-resource
// kit; SQL lives in the repository; each use case is one transaction under the caller's tenant
// context.
import { type OwnedListQuery, ownedResource } from '../access/owned-resource.ts';
import type { Principal } from '../access/principal.ts';
import type { Database } from '../db/database.ts';
import type { Prompt } from '../db/schema.ts';
import * as repo from './prompt.repository.ts';

export interface PromptInput {
  name: string;
  content: string;
  description?: string | null;
}

export function createPromptService(database: Database) {
  const prompts = ownedResource(database, {
    resource: 'prompts',
    noun: 'prompt',
    find: repo.findPrompt,
  });
  return {
    create(p: Principal, input: PromptInput): Promise<Prompt> {
      return prompts.create(p, (tx, owned) =>
        repo.insertPrompt(tx, {
          ...owned,
          name: input.name,
          content: input.content,
          description: input.description ?? null,
        }),
      );
    },

    list(p: Principal, q: OwnedListQuery & { q?: string }) {
      return prompts.list(p, q, (tx, scope) =>
        repo.listPrompts(tx, p.orgId, Object.assign({ q: q.q }, scope)),
      );
    },

    get: prompts.get,

    update(p: Principal, id: string, patch: Partial<PromptInput>): Promise<Prompt> {
      return prompts.update(p, id, patch, async (tx) =>
        prompts.found(await repo.updatePrompt(tx, p.orgId, id, patch)),
      );
    },

    remove(p: Principal, id: string): Promise<void> {
      return prompts.manage(p, id, async (tx) => {
        await repo.softDeletePrompt(tx, p.orgId, id);
      });
    },
  };
}

export type PromptService = ReturnType<typeof createPromptService>;
