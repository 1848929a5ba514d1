// Messaging agents data access. Every function takes the caller's transaction first; the explicit
// org filter is defence in depth on top of row-level security.

import {
  livePage,
  liveRow,
  type PageOpts,
  softDeleteSwitchable,
  updateLive,
} from '../../db/owned-rows.ts';
import type { MessageAgent } from '../../db/schema.ts';
import type { Tx } from '../../db/tenant.ts';
import { type AgentFilters, agentFilters } from '../agents/agent.repository.ts';

export type MessageAgentFields = Pick<
  MessageAgent,
  'name' | 'phone_id' | 'prompt_id' | 'auto_reply' | 'active'
>;
export type NewMessageAgent = MessageAgentFields & Pick<MessageAgent, 'id' | 'org_id' | 'owner_id'>;

export function insertMessageAgent(tx: Tx, row: NewMessageAgent): Promise<MessageAgent> {
  return tx.insertInto('message_agents').values(row).returningAll().executeTakeFirstOrThrow();
}

export function findMessageAgent(
  tx: Tx,
  orgId: string,
  id: string,
): Promise<MessageAgent | undefined> {
  return tx.selectFrom('message_agents').selectAll().where(liveRow(orgId, id)).executeTakeFirst();
}

export function listMessageAgents(
  tx: Tx,
  orgId: string,
  opts: PageOpts & AgentFilters,
): Promise<MessageAgent[]> {
  return tx
    .selectFrom('message_agents')
    .selectAll()
    .where(livePage(orgId, opts))
    .where(agentFilters(opts))
    .orderBy('id', 'desc')
    .limit(opts.limit)
    .execute();
}

export function updateMessageAgent(
  tx: Tx,
  orgId: string,
  id: string,
  patch: Partial<MessageAgentFields>,
): Promise<MessageAgent | undefined> {
  return updateLive(tx, 'message_agents', orgId, id, patch);
}

export function softDeleteMessageAgent(tx: Tx, orgId: string, id: string): Promise<boolean> {
  return softDeleteSwitchable(tx, 'message_agents', orgId, id);
}
