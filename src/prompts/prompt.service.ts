// Prompt use cases: the rules (who may see and change what) live here; SQL lives in the
// repository; each use case is one transaction under the caller's tenant context.
import { canManageRow, canSeeRow, requirePermission, seesAllRows } from '../access/permissions.ts';
import { type Principal, tenantOf } from '../access/principal.ts';
import type { Database } from '../db/database.ts';
import type { Prompt } from '../db/schema.ts';
import { withTenant } from '../db/tenant.ts';
import { AppError, notFound } from '../http/errors.ts';
import { newId } from '../http/ids.ts';
import { decodeCursor, page } from '../http/pagination.ts';
import * as repo from './prompt.repository.ts';

export interface PromptInput {
  name: string;
  content: string;
  description?: string | null;
}

export function createPromptService(database: Database) {
  return {
    create(p: Principal, input: PromptInput): Promise<Prompt> {
      requirePermission(p, 'prompts:create');
      return withTenant(database, tenantOf(p), (tx) =>
        repo.insertPrompt(tx, {
          id: newId(),
          org_id: p.orgId,
          owner_id: p.userId,
          name: input.name,
          content: input.content,
          description: input.description ?? null,
        }),
      );
    },

    list(p: Principal, q: { limit: number; cursor?: string; owner_id?: string; q?: string }) {
      requirePermission(p, 'prompts:read');
      const before = decodeCursor(q.cursor);
      return withTenant(database, tenantOf(p), async (tx) => {
        const rows = await repo.listPrompts(tx, p.orgId, {
          limit: q.limit + 1,
          before,
          // Members see only their own rows (RLS enforces the same; this keeps the query honest).
          ownerId: seesAllRows(p, 'prompts') ? q.owner_id : p.userId,
          q: q.q,
        });
        return page(rows, q.limit);
      });
    },

    async get(p: Principal, id: string): Promise<Prompt> {
      requirePermission(p, 'prompts:read');
      const row = await withTenant(database, tenantOf(p), (tx) => repo.findPrompt(tx, p.orgId, id));
      // Another member's row answers exactly like a missing one: no existence oracle.
      if (!row || !canSeeRow(p, 'prompts', row.owner_id)) throw notFound('prompt');
      return row;
    },

    update(p: Principal, id: string, patch: Partial<PromptInput>): Promise<Prompt> {
      requirePermission(p, 'prompts:manage_own');
      if (Object.keys(patch).length === 0) {
        throw new AppError('validation_failed', 'Nothing to update');
      }
      return withTenant(database, tenantOf(p), async (tx) => {
        const row = await repo.findPrompt(tx, p.orgId, id);
        if (!row || !canManageRow(p, 'prompts', row.owner_id)) throw notFound('prompt');
        const updated = await repo.updatePrompt(tx, p.orgId, id, patch);
        if (!updated) throw notFound('prompt');
        return updated;
      });
    },

    remove(p: Principal, id: string): Promise<void> {
      requirePermission(p, 'prompts:manage_own');
      return withTenant(database, tenantOf(p), async (tx) => {
        const row = await repo.findPrompt(tx, p.orgId, id);
        if (!row || !canManageRow(p, 'prompts', row.owner_id)) throw notFound('prompt');
        await repo.softDeletePrompt(tx, p.orgId, id);
      });
    },
  };
}

export type PromptService = ReturnType<typeof createPromptService>;
