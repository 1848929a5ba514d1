// Prompts data access. Every function takes the caller's transaction first (the caller owns it,
// and it already carries the tenant context); the explicit org filter is defence in depth on top
// of row-level security.

import { fixedQuery } from '../db/fixed-query.ts';
import {
  containsPattern,
  livePage,
  liveRow,
  type PageOpts,
  softDelete,
  updateLive,
} from '../db/owned-rows.ts';
import type { NewPrompt, Prompt } from '../db/schema.ts';
import type { Tx } from '../db/tenant.ts';

export function insertPrompt(tx: Tx, row: NewPrompt): Promise<Prompt> {
  return tx.insertInto('prompts').values(row).returningAll().executeTakeFirstOrThrow();
}

export function findPrompt(tx: Tx, orgId: string, id: string): Promise<Prompt | undefined> {
  return tx.selectFrom('prompts').selectAll().where(liveRow(orgId, id)).executeTakeFirst();
}

const promptPage = fixedQuery(
  (
    db,
    a: { orgId: string; before?: string; ownerId?: string; pattern?: string; limit: number },
  ) => {
    let query = db.selectFrom('prompts').selectAll().where(livePage(a.orgId, a));
    if (a.pattern) query = query.where('name', 'ilike', a.pattern);
    return query.orderBy('id', 'desc').limit(a.limit);
  },
);

export function listPrompts(
  tx: Tx,
  orgId: string,
  opts: PageOpts & { q?: string },
): Promise<Prompt[]> {
  return promptPage(tx, {
    orgId,
    before: opts.before,
    ownerId: opts.ownerId,
    pattern: opts.q ? containsPattern(opts.q) : undefined,
    limit: opts.limit,
  });
}

export function updatePrompt(
  tx: Tx,
  orgId: string,
  id: string,
  patch: Partial<Pick<Prompt, 'name' | 'content' | 'description'>>,
): Promise<Prompt | undefined> {
  return updateLive(tx, 'prompts', orgId, id, patch);
}

export function softDeletePrompt(tx: Tx, orgId: string, id: string): Promise<boolean> {
  return softDelete(tx, 'prompts', orgId, id);
}
