// Voice agent use cases: an agent answers (incoming) or places (outgoing) calls on one phone.
// One active incoming agent per phone — the database's partial unique index decides, races
// included; this code names the outcome.
import { type OwnedListQuery, ownedResource } from '../../access/owned-resource.ts';
import type { Principal } from '../../access/principal.ts';
import { type Act, recordAct } from '../../audit/audit.ts';
import type { Config } from '../../config.ts';
import type { Database } from '../../db/database.ts';
import type { Agent, AgentDirection } from '../../db/schema.ts';
import type { Tx } from '../../db/tenant.ts';
import type { RequestMeta } from '../../http/request-meta.ts';
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

/**
 * Where a media-stream URL sends the call's audio and its stream token, for the audit log: the
 * origin only (a URL's path or query may carry a worker's secret, which the log must not hold).
 */
function streamOrigin(url: string | null | undefined): string | null {
  if (!url) return null;
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

/**
 * An agent decides who hears a call and where its audio goes (media_stream_url): creating,
 * changing and deleting one is recorded, with the fields changed and the stream's origin.
 */
function recordAgentAct(
  tx: Tx,
  meta: RequestMeta,
  p: Principal,
  action: 'agent.create' | 'agent.update' | 'agent.delete',
  agent: Pick<Agent, 'id' | 'name' | 'phone_id' | 'media_stream_url'>,
  metadata: Act['metadata'] = {},
): Promise<void> {
  return recordAct(tx, meta, p, {
    action,
    target_type: 'agent',
    target_id: agent.id,
    metadata: {
      name: agent.name,
      phone_id: agent.phone_id,
      media_stream_origin: streamOrigin(agent.media_stream_url),
      ...metadata,
    },
  });
}

export function createAgentService(database: Database, config: Pick<Config, 'nodeEnv'>) {
  const agents = ownedResource(database, {
    resource: 'agents',
    noun: 'agent',
    find: repo.findAgent,
  });
  return {
    create(p: Principal, input: AgentInput, meta: RequestMeta): Promise<Agent> {
      return mapConflicts(
        () =>
          agents.create(
            p,
            async (tx, owned) => {
              await checkRefs(tx, p, input);
              const row = await repo.insertAgent(tx, {
                ...owned,
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
              await recordAgentAct(tx, meta, p, 'agent.create', row, {
                direction: row.direction,
                active: row.active,
              });
              return row;
            },
            () => checkMediaStreamUrl(input.media_stream_url, config.nodeEnv),
          ),
        CONFLICTS,
      );
    },

    list(
      p: Principal,
      q: OwnedListQuery & {
        phone_id?: string;
        direction?: AgentDirection;
        active?: boolean;
        q?: string;
      },
    ) {
      return agents.list(p, q, (tx, scope) =>
        repo.listAgents(tx, p.orgId, {
          ...scope,
          phoneId: q.phone_id,
          direction: q.direction,
          active: q.active,
          q: q.q,
        }),
      );
    },

    get: agents.get,

    update(
      p: Principal,
      id: string,
      patch: Partial<AgentInput>,
      meta: RequestMeta,
    ): Promise<Agent> {
      return mapConflicts(
        () =>
          agents.update(
            p,
            id,
            patch,
            async (tx) => {
              await checkRefs(tx, p, patch);
              const row = agents.found(await repo.updateAgent(tx, p.orgId, id, patch));
              await recordAgentAct(tx, meta, p, 'agent.update', row, {
                changed: Object.keys(patch).sort().join(' '),
                active: row.active,
              });
              return row;
            },
            () => checkMediaStreamUrl(patch.media_stream_url, config.nodeEnv),
          ),
        CONFLICTS,
      );
    },

    remove(p: Principal, id: string, meta: RequestMeta): Promise<void> {
      return agents.manage(p, id, async (tx, row) => {
        await repo.softDeleteAgent(tx, p.orgId, id);
        await recordAgentAct(tx, meta, p, 'agent.delete', row);
      });
    },
  };
}

export type AgentService = ReturnType<typeof createAgentService>;
