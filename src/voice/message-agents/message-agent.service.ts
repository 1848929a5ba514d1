// Messaging agent use cases: an agent answers a phone's incoming SMS (its auto-reply). One active
// messaging agent per phone — the database's partial unique index decides, races included.
import {
  canManageRow,
  canSeeRow,
  requirePermission,
  seesAllRows,
} from '../../access/permissions.ts';
import { type Principal, tenantOf } from '../../access/principal.ts';
import type { Database } from '../../db/database.ts';
import type { MessageAgent } from '../../db/schema.ts';
import { type Tx, withTenant } from '../../db/tenant.ts';
import { AppError, notFound } from '../../http/errors.ts';
import { newId } from '../../http/ids.ts';
import { decodeCursor, page } from '../../http/pagination.ts';
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

export function createMessageAgentService(database: Database) {
  return {
    create(p: Principal, input: MessageAgentInput): Promise<MessageAgent> {
      requirePermission(p, 'message_agents:create');
      return mapConflicts(
        () =>
          withTenant(database, tenantOf(p), async (tx) => {
            await checkRefs(tx, p, input);
            return repo.insertMessageAgent(tx, {
              id: newId(),
              org_id: p.orgId,
              owner_id: p.userId,
              name: input.name,
              phone_id: input.phone_id,
              prompt_id: input.prompt_id ?? null,
              auto_reply: input.auto_reply ?? null,
              active: input.active ?? true,
            });
          }),
        CONFLICTS,
      );
    },

    list(
      p: Principal,
      q: {
        limit: number;
        cursor?: string;
        owner_id?: string;
        phone_id?: string;
        active?: boolean;
        q?: string;
      },
    ) {
      requirePermission(p, 'message_agents:read');
      const before = decodeCursor(q.cursor);
      return withTenant(database, tenantOf(p), async (tx) => {
        const rows = await repo.listMessageAgents(tx, p.orgId, {
          limit: q.limit + 1,
          before,
          // Reads follow the role, as RLS does (members: their own rows; this keeps the query honest).
          ownerId: seesAllRows(p, 'message_agents') ? q.owner_id : p.userId,
          phoneId: q.phone_id,
          active: q.active,
          q: q.q,
        });
        return page(rows, q.limit);
      });
    },

    async get(p: Principal, id: string): Promise<MessageAgent> {
      requirePermission(p, 'message_agents:read');
      const row = await withTenant(database, tenantOf(p), (tx) =>
        repo.findMessageAgent(tx, p.orgId, id),
      );
      // Another member's row answers exactly like a missing one: no existence oracle.
      if (!row || !canSeeRow(p, 'message_agents', row.owner_id)) {
        throw notFound('messaging agent');
      }
      return row;
    },

    update(p: Principal, id: string, patch: Partial<MessageAgentInput>): Promise<MessageAgent> {
      requirePermission(p, 'message_agents:manage_own');
      if (Object.keys(patch).length === 0) {
        throw new AppError('validation_failed', 'Nothing to update');
      }
      return mapConflicts(
        () =>
          withTenant(database, tenantOf(p), async (tx) => {
            const row = await repo.findMessageAgent(tx, p.orgId, id);
            if (!row || !canManageRow(p, 'message_agents', row.owner_id)) {
              throw notFound('messaging agent');
            }
            await checkRefs(tx, p, patch);
            const updated = await repo.updateMessageAgent(tx, p.orgId, id, patch);
            if (!updated) throw notFound('messaging agent');
            return updated;
          }),
        CONFLICTS,
      );
    },

    remove(p: Principal, id: string): Promise<void> {
      requirePermission(p, 'message_agents:manage_own');
      return withTenant(database, tenantOf(p), async (tx) => {
        const row = await repo.findMessageAgent(tx, p.orgId, id);
        if (!row || !canManageRow(p, 'message_agents', row.owner_id)) {
          throw notFound('messaging agent');
        }
        await repo.softDeleteMessageAgent(tx, p.orgId, id);
      });
    },
  };
}

export type MessageAgentService = ReturnType<typeof createMessageAgentService>;
