// Voice agents data access. Every function takes the caller's transaction first; the explicit org
// filter is defence in depth on top of row-level security.

import { livePage, liveRow, softDeleteSwitchable } from '../../db/owned-rows.ts';
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
  return tx.selectFrom('agents').selectAll().where(liveRow(orgId, id)).executeTakeFirst();
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
  let query = tx.selectFrom('agents').selectAll().where(livePage(orgId, opts));
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
    .where(liveRow(orgId, id))
    .returningAll()
    .executeTakeFirst();
}

export function softDeleteAgent(tx: Tx, orgId: string, id: string): Promise<boolean> {
  return softDeleteSwitchable(tx, 'agents', orgId, id);
}
