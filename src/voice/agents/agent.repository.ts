// Voice agents data access. Every function takes the caller's transaction first; the explicit org
// filter is defence in depth on top of row-level security.
import type { Agent, AgentDirection } from '../../db/schema.ts';
import type { Tx } from '../../db/tenant.ts';
import { containsPattern } from '../shared.ts';

export type AgentFields = Pick<
  Agent,
  | 'name'
  | 'direction'
  | 'phone_id'
  | 'prompt_id'
  | 'instructions'
  | 'greeting'
  | 'voice'
  | 'language'
  | 'media_stream_url'
  | 'active'
>;
export type NewAgent = AgentFields & Pick<Agent, 'id' | 'org_id' | 'owner_id'>;

export function insertAgent(tx: Tx, row: NewAgent): Promise<Agent> {
  return tx.insertInto('agents').values(row).returningAll().executeTakeFirstOrThrow();
}

export function findAgent(tx: Tx, orgId: string, id: string): Promise<Agent | undefined> {
  return tx
    .selectFrom('agents')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
}

export function listAgents(
  tx: Tx,
  orgId: string,
  opts: {
    limit: number;
    before?: string;
    ownerId?: string;
    phoneId?: string;
    direction?: AgentDirection;
    active?: boolean;
    q?: string;
  },
): Promise<Agent[]> {
  let query = tx
    .selectFrom('agents')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('deleted_at', 'is', null);
  if (opts.before) query = query.where('id', '<', opts.before);
  if (opts.ownerId) query = query.where('owner_id', '=', opts.ownerId);
  if (opts.phoneId) query = query.where('phone_id', '=', opts.phoneId);
  if (opts.direction) query = query.where('direction', '=', opts.direction);
  if (opts.active !== undefined) query = query.where('active', '=', opts.active);
  if (opts.q) query = query.where('name', 'ilike', containsPattern(opts.q));
  return query.orderBy('id', 'desc').limit(opts.limit).execute();
}

export function updateAgent(
  tx: Tx,
  orgId: string,
  id: string,
  patch: Partial<AgentFields>,
): Promise<Agent | undefined> {
  return tx
    .updateTable('agents')
    .set({ ...patch, updated_at: new Date() })
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

export async function softDeleteAgent(tx: Tx, orgId: string, id: string): Promise<boolean> {
  const res = await tx
    .updateTable('agents')
    .set({ deleted_at: new Date(), updated_at: new Date(), active: false })
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}
