// Voice agent use cases: an agent answers (incoming) or places (outgoing) calls on one phone.
// One active incoming agent per phone — the database's partial unique index decides, races
// included; this code names the outcome.
import {
  canManageRow,
  canSeeRow,
  requirePermission,
  seesAllRows,
} from '../../access/permissions.ts';
import { type Principal, tenantOf } from '../../access/principal.ts';
import type { Config } from '../../config.ts';
import type { Database } from '../../db/database.ts';
import type { Agent, AgentDirection } from '../../db/schema.ts';
import { type Tx, withTenant } from '../../db/tenant.ts';
import { AppError, notFound } from '../../http/errors.ts';
import { newId } from '../../http/ids.ts';
import { decodeCursor, page } from '../../http/pagination.ts';
import { usablePhone, usablePrompt } from '../refs.ts';
import { mapConflicts } from '../shared.ts';
import * as repo from './agent.repository.ts';
import { checkMediaStreamUrl } from './media-stream-url.ts';

const CONFLICTS = { agents_one_active_incoming_per_phone: 'phone_has_active_agent' } as const;

export interface AgentInput {
  name: string;
  direction: AgentDirection;
  phone_id: string;
  prompt_id?: string | null;
  instructions?: string | null;
  greeting?: string | null;
  voice?: string | null;
  language?: string | null;
  media_stream_url?: string | null;
  active?: boolean;
}

async function checkRefs(tx: Tx, p: Principal, input: Partial<AgentInput>) {
  if (input.phone_id !== undefined) await usablePhone(tx, p, input.phone_id);
  if (input.prompt_id) await usablePrompt(tx, p, input.prompt_id);
}

export function createAgentService(database: Database, config: Pick<Config, 'nodeEnv'>) {
  return {
    create(p: Principal, input: AgentInput): Promise<Agent> {
      requirePermission(p, 'agents:create');
      checkMediaStreamUrl(input.media_stream_url, config.nodeEnv);
      return mapConflicts(
        () =>
          withTenant(database, tenantOf(p), async (tx) => {
            await checkRefs(tx, p, input);
            return repo.insertAgent(tx, {
              id: newId(),
              org_id: p.orgId,
              owner_id: p.userId,
              name: input.name,
              direction: input.direction,
              phone_id: input.phone_id,
              prompt_id: input.prompt_id ?? null,
              instructions: input.instructions ?? null,
              greeting: input.greeting ?? null,
              voice: input.voice ?? null,
              language: input.language ?? null,
              media_stream_url: input.media_stream_url ?? null,
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
        direction?: AgentDirection;
        active?: boolean;
        q?: string;
      },
    ) {
      requirePermission(p, 'agents:read');
      const before = decodeCursor(q.cursor);
      return withTenant(database, tenantOf(p), async (tx) => {
        const rows = await repo.listAgents(tx, p.orgId, {
          limit: q.limit + 1,
          before,
          // Reads follow the role, as RLS does (members: their own rows; this keeps the query honest).
          ownerId: seesAllRows(p, 'agents') ? q.owner_id : p.userId,
          phoneId: q.phone_id,
          direction: q.direction,
          active: q.active,
          q: q.q,
        });
        return page(rows, q.limit);
      });
    },

    async get(p: Principal, id: string): Promise<Agent> {
      requirePermission(p, 'agents:read');
      const row = await withTenant(database, tenantOf(p), (tx) => repo.findAgent(tx, p.orgId, id));
      // Another member's row answers exactly like a missing one: no existence oracle.
      if (!row || !canSeeRow(p, 'agents', row.owner_id)) throw notFound('agent');
      return row;
    },

    update(p: Principal, id: string, patch: Partial<AgentInput>): Promise<Agent> {
      requirePermission(p, 'agents:manage_own');
      if (Object.keys(patch).length === 0) {
        throw new AppError('validation_failed', 'Nothing to update');
      }
      checkMediaStreamUrl(patch.media_stream_url, config.nodeEnv);
      return mapConflicts(
        () =>
          withTenant(database, tenantOf(p), async (tx) => {
            const row = await repo.findAgent(tx, p.orgId, id);
            if (!row || !canManageRow(p, 'agents', row.owner_id)) throw notFound('agent');
            await checkRefs(tx, p, patch);
            const updated = await repo.updateAgent(tx, p.orgId, id, patch);
            if (!updated) throw notFound('agent');
            return updated;
          }),
        CONFLICTS,
      );
    },

    remove(p: Principal, id: string): Promise<void> {
      requirePermission(p, 'agents:manage_own');
      return withTenant(database, tenantOf(p), async (tx) => {
        const row = await repo.findAgent(tx, p.orgId, id);
        if (!row || !canManageRow(p, 'agents', row.owner_id)) throw notFound('agent');
        await repo.softDeleteAgent(tx, p.orgId, id);
      });
    },
  };
}

export type AgentService = ReturnType<typeof createAgentService>;
