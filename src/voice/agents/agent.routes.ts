// /api/agents (and the source documents' /agents): voice agents. Routes validate input and shape
// output; the service holds the rules.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requirePrincipal } from '../../access/principal.ts';
import type { Agent } from '../../db/schema.ts';
import { deleteByIdRoute, getByIdRoute } from '../../http/by-id-routes.ts';
import { PageOf, PageQuery } from '../../http/pagination.ts';
import { requestMeta } from '../../http/request-meta.ts';
import { IdParams, responses, Timestamp } from '../../http/schemas.ts';
import {
  Name,
  NullableSpokenText,
  NullableText,
  NullableUuid,
  SECURITY as security,
  Uuid,
} from '../shared.ts';
import type { AgentService } from './agent.service.ts';

const Direction = Type.Union([Type.Literal('incoming'), Type.Literal('outgoing')]);
const Nullable = <T extends import('typebox').TSchema>(t: T) => Type.Union([t, Type.Null()]);
export const Voice = Nullable(
  Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$', description: 'TTS voice, e.g. Polly.Joanna' }),
);
export const Language = Nullable(
  Type.String({
    pattern: '^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$',
    maxLength: 35,
    description: 'BCP 47 tag, e.g. en-US',
  }),
);
const MediaStreamUrl = Nullable(
  Type.String({
    format: 'uri',
    pattern: '^wss?://\\S+$',
    maxLength: 2000,
    description: "The agent worker's media-stream WebSocket (wss://…)",
  }),
);

const AgentOut = Type.Object(
  {
    id: Uuid,
    org_id: Uuid,
    owner_id: Uuid,
    name: Type.String(),
    direction: Direction,
    phone_id: Uuid,
    prompt_id: NullableUuid,
    instructions: Nullable(Type.String()),
    greeting: Nullable(Type.String()),
    voice: Nullable(Type.String()),
    language: Nullable(Type.String()),
    media_stream_url: Nullable(Type.String()),
    active: Type.Boolean(),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { title: 'Agent' },
);

const fields = {
  prompt_id: Type.Optional(NullableUuid),
  instructions: Type.Optional(NullableText(20_000)),
  greeting: Type.Optional(NullableSpokenText(1000)),
  voice: Type.Optional(Voice),
  language: Type.Optional(Language),
  media_stream_url: Type.Optional(MediaStreamUrl),
  active: Type.Optional(Type.Boolean()),
};
const CreateBody = Type.Object(
  { name: Name, direction: Direction, phone_id: Uuid, ...fields },
  { additionalProperties: false },
);
const UpdateBody = Type.Object(
  {
    name: Type.Optional(Name),
    direction: Type.Optional(Direction),
    phone_id: Type.Optional(Uuid),
    ...fields,
  },
  { additionalProperties: false, minProperties: 1 },
);
const ListQuery = Type.Object(
  {
    ...PageQuery,
    owner_id: Type.Optional(Uuid),
    phone_id: Type.Optional(Uuid),
    direction: Type.Optional(Direction),
    active: Type.Optional(Type.Boolean()),
    q: Type.Optional(Type.String({ maxLength: 200, description: 'Part of the name' })),
  },
  { additionalProperties: false },
);

export function toAgentJson(a: Agent) {
  return {
    id: a.id,
    org_id: a.org_id,
    owner_id: a.owner_id,
    name: a.name,
    direction: a.direction,
    phone_id: a.phone_id,
    prompt_id: a.prompt_id,
    instructions: a.instructions,
    greeting: a.greeting,
    voice: a.voice,
    language: a.language,
    media_stream_url: a.media_stream_url,
    active: a.active,
    created_at: a.created_at.toISOString(),
    updated_at: a.updated_at.toISOString(),
  };
}

export const agentRoutes: FastifyPluginAsyncTypebox<{
  agents: AgentService;
  base?: '/api/agents' | '/agents';
}> = async (app, { agents, base = '/api/agents' }) => {
  const tags = ['agents'];
  // Documented once, under /api/agents; src/routes.ts mounts the source documents' /agents too.
  const hide = base !== '/api/agents';

  app.post(
    base,
    {
      schema: {
        operationId: 'createAgent',
        hide,
        tags,
        security,
        summary: 'Create a voice agent',
        description: 'One active incoming agent per phone: a second answers 409.',
        body: CreateBody,
        response: responses({ 201: AgentOut }, [401, 403, 409, 413, 415]),
      },
    },
    async (request, reply) => {
      const row = await agents.create(
        requirePrincipal(request),
        request.body,
        requestMeta(request),
      );
      return reply.code(201).send(toAgentJson(row));
    },
  );

  app.get(
    base,
    {
      schema: {
        operationId: 'listAgents',
        hide,
        tags,
        security,
        summary: 'List voice agents (newest first, cursor pagination)',
        description: 'Members see their own agents; managers, admins and owners all of the org.',
        querystring: ListQuery,
        response: responses({ 200: PageOf(AgentOut) }, [401, 403]),
      },
    },
    async (request) => {
      const { limit = 20, ...rest } = request.query;
      const result = await agents.list(requirePrincipal(request), { limit, ...rest });
      return { items: result.items.map(toAgentJson), next_cursor: result.next_cursor };
    },
  );

  getByIdRoute(
    app,
    `${base}/:id`,
    {
      operationId: 'getAgent',
      hide,
      tags,
      security,
      summary: 'Get a voice agent',
    },
    AgentOut,
    async (request, id) => toAgentJson(await agents.get(requirePrincipal(request), id)),
  );

  for (const method of ['patch', 'put'] as const) {
    app[method](
      `${base}/:id`,
      {
        schema: {
          operationId: method === 'patch' ? 'updateAgent' : 'replaceAgent',
          hide,
          tags,
          security,
          summary:
            method === 'patch'
              ? 'Update a voice agent'
              : 'Update a voice agent (same as PATCH: only the fields sent change)',
          params: IdParams,
          body: UpdateBody,
          response: responses({ 200: AgentOut }, [401, 403, 404, 409, 413, 415]),
        },
      },
      async (request) =>
        toAgentJson(
          await agents.update(
            requirePrincipal(request),
            request.params.id,
            request.body,
            requestMeta(request),
          ),
        ),
    );
  }

  deleteByIdRoute(
    app,
    `${base}/:id`,
    {
      operationId: 'deleteAgent',
      hide,
      tags,
      security,
      summary: 'Delete a voice agent (soft delete)',
    },
    async (request, id) => agents.remove(requirePrincipal(request), id, requestMeta(request)),
  );
};
