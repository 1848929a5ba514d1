// Prompts data access. Every function takes the caller's transaction first (the caller owns it,
// and it already carries the tenant context); the explicit org filter is defence in depth on top
// of row-level security.

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

export function listPrompts(
  tx: Tx,
  orgId: string,
  opts: PageOpts & { q?: string },
): Promise<Prompt[]> {
  let query = tx.selectFrom('prompts').selectAll().where(livePage(orgId, opts));
  if (opts.q) query = query.where('name', 'ilike', containsPattern(opts.q));
  return query.orderBy('id', 'desc').limit(opts.limit).execute();
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
