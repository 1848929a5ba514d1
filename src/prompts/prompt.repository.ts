// Prompts data access. Every function takes the caller's transaction first (the caller owns it,
// and it already carries the tenant context); the explicit org filter is defence in depth on top
// of row-level security.

import type { NewPrompt, Prompt } from '../db/schema.ts';
import type { Tx } from '../db/tenant.ts';

export function insertPrompt(tx: Tx, row: NewPrompt): Promise<Prompt> {
  return tx.insertInto('prompts').values(row).returningAll().executeTakeFirstOrThrow();
}

export function findPrompt(tx: Tx, orgId: string, id: string): Promise<Prompt | undefined> {
  return tx
    .selectFrom('prompts')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
}

export function listPrompts(
  tx: Tx,
  orgId: string,
  opts: { limit: number; before?: string; ownerId?: string; q?: string },
): Promise<Prompt[]> {
  let query = tx
    .selectFrom('prompts')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('deleted_at', 'is', null);
  if (opts.before) query = query.where('id', '<', opts.before);
  if (opts.ownerId) query = query.where('owner_id', '=', opts.ownerId);
  if (opts.q) {
    const pattern = `%${opts.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    query = query.where('name', 'ilike', pattern);
  }
  return query.orderBy('id', 'desc').limit(opts.limit).execute();
}

export function updatePrompt(
  tx: Tx,
  orgId: string,
  id: string,
  patch: Partial<Pick<Prompt, 'name' | 'content' | 'description'>>,
): Promise<Prompt | undefined> {
  return tx
    .updateTable('prompts')
    .set({ ...patch, updated_at: new Date() })
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

export async function softDeletePrompt(tx: Tx, orgId: string, id: string): Promise<boolean> {
  const res = await tx
    .updateTable('prompts')
    .set({ deleted_at: new Date(), updated_at: new Date() })
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}
