// Voice agents data access. Every function takes the caller's transaction first; the explicit org
// filter is defence in depth on top of row-level security.

import type { ExpressionBuilder } from 'kysely';
import {
  containsPattern,
  livePage,
  liveRow,
  type PageOpts,
  softDeleteSwitchable,
  updateLive,
} from '../../db/owned-rows.ts';
import type { Agent, AgentDirection, DB } from '../../db/schema.ts';
import type { Tx } from '../../db/tenant.ts';

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

/** The org's agent with this id, soft-deleted or not: to judge a reference made earlier. */
export function findAgentEvenDeleted(tx: Tx, orgId: string, id: string) {
  return tx
    .selectFrom('agents')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .executeTakeFirst();
}

/** What both kinds of agent (voice and messaging) are listed by. */
export interface AgentFilters {
  phoneId?: string;
  active?: boolean;
  q?: string;
}

export function agentFilters(opts: AgentFilters) {
  return (eb: ExpressionBuilder<DB, 'agents' | 'message_agents'>) =>
    eb.and([
      ...(opts.phoneId ? [eb('phone_id', '=', opts.phoneId)] : []),
      ...(opts.active !== undefined ? [eb('active', '=', opts.active)] : []),
      ...(opts.q ? [eb('name', 'ilike', containsPattern(opts.q))] : []),
    ]);
}

export function listAgents(
  tx: Tx,
  orgId: string,
  opts: PageOpts & AgentFilters & { direction?: AgentDirection },
): Promise<Agent[]> {
  let query = tx
    .selectFrom('agents')
    .selectAll()
    .where(livePage(orgId, opts))
    .where(agentFilters(opts));
  if (opts.direction) query = query.where('direction', '=', opts.direction);
  return query.orderBy('id', 'desc').limit(opts.limit).execute();
}

export function updateAgent(
  tx: Tx,
  orgId: string,
  id: string,
  patch: Partial<AgentFields>,
): Promise<Agent | undefined> {
  return updateLive(tx, 'agents', orgId, id, patch);
}

export function softDeleteAgent(tx: Tx, orgId: string, id: string): Promise<boolean> {
  return softDeleteSwitchable(tx, 'agents', orgId, id);
}
