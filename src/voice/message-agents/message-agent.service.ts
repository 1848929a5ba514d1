// Messaging agent use cases: an agent answers a phone's incoming SMS (its auto-reply). One active
// messaging agent per phone — the database's partial unique index decides, races included.
// Creating, changing and deleting one is audited (`message_agent.create`, `.update` with the
// fields sent as `changed`, `.delete`): its auto-reply is text the org sends to the public.
import { type OwnedListQuery, ownedResource } from '../../access/owned-resource.ts';
import type { Principal } from '../../access/principal.ts';
import { type Act, recordAct } from '../../audit/audit.ts';
import type { Database } from '../../db/database.ts';
import type { MessageAgent } from '../../db/schema.ts';
import type { Tx } from '../../db/tenant.ts';
import type { RequestMeta } from '../../http/request-meta.ts';
import { usablePhone, usablePrompt } from '../refs.ts';
import { mapConflicts } from '../shared.ts';
import * as repo from './message-agent.repository.ts';

const CONFLICTS = {
  message_agents_one_active_per_phone: 'phone_has_active_message_agent',
} as const;

export interface MessageAgentInput {
  name: string;
  phone_id: string;
  prompt_id?: string | null;
  auto_reply?: string | null;
  active?: boolean;
}

async function checkRefs(tx: Tx, p: Principal, input: Partial<MessageAgentInput>) {
  if (input.phone_id !== undefined) await usablePhone(tx, p, input.phone_id);
  if (input.prompt_id) await usablePrompt(tx, p, input.prompt_id);
}

function recordMessageAgentAct(
  tx: Tx,
  meta: RequestMeta,
  p: Principal,
  action: 'message_agent.create' | 'message_agent.update' | 'message_agent.delete',
  agent: Pick<MessageAgent, 'id' | 'name' | 'phone_id' | 'active'>,
  metadata: Act['metadata'] = {},
): Promise<void> {
  return recordAct(tx, meta, p, {
    action,
    target_type: 'message_agent',
    target_id: agent.id,
    metadata: { name: agent.name, phone_id: agent.phone_id, active: agent.active, ...metadata },
  });
}

export function createMessageAgentService(database: Database) {
  const messageAgents = ownedResource(database, {
    resource: 'message_agents',
    noun: 'messaging agent',
    find: repo.findMessageAgent,
  });
  return {
    create(p: Principal, input: MessageAgentInput, meta: RequestMeta): Promise<MessageAgent> {
      return mapConflicts(
        () =>
          messageAgents.create(p, async (tx, owned) => {
            await checkRefs(tx, p, input);
            const row = await repo.insertMessageAgent(tx, {
              ...owned,
              name: input.name,
              phone_id: input.phone_id,
              prompt_id: input.prompt_id ?? null,
              auto_reply: input.auto_reply ?? null,
              active: input.active ?? true,
            });
            await recordMessageAgentAct(tx, meta, p, 'message_agent.create', row);
            return row;
          }),
        CONFLICTS,
      );
    },

    list(
      p: Principal,
      q: OwnedListQuery & {
        phone_id?: string;
        active?: boolean;
        q?: string;
      },
    ) {
      return messageAgents.list(p, q, (tx, scope) =>
        repo.listMessageAgents(tx, p.orgId, {
          ...scope,
          phoneId: q.phone_id,
          active: q.active,
          q: q.q,
        }),
      );
    },

    get: messageAgents.get,

    update(
      p: Principal,
      id: string,
      patch: Partial<MessageAgentInput>,
      meta: RequestMeta,
    ): Promise<MessageAgent> {
      return mapConflicts(
        () =>
          messageAgents.update(p, id, patch, async (tx) => {
            await checkRefs(tx, p, patch);
            const row = messageAgents.found(await repo.updateMessageAgent(tx, p.orgId, id, patch));
            await recordMessageAgentAct(tx, meta, p, 'message_agent.update', row, {
              changed: Object.keys(patch).sort().join(' '),
            });
            return row;
          }),
        CONFLICTS,
      );
    },

    remove(p: Principal, id: string, meta: RequestMeta): Promise<void> {
      return messageAgents.manage(p, id, async (tx, row) => {
        await repo.softDeleteMessageAgent(tx, p.orgId, id);
        await recordMessageAgentAct(tx, meta, p, 'message_agent.delete', row);
      });
    },
  };
}

export type MessageAgentService = ReturnType<typeof createMessageAgentService>;
