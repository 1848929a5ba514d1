// /api/message-agents: agents that answer a phone's incoming SMS. Routes validate input and shape
// output; the service holds the rules.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requirePrincipal } from '../../access/principal.ts';
import type { MessageAgent } from '../../db/schema.ts';
import { deleteByIdRoute, getByIdRoute } from '../../http/by-id-routes.ts';
import { PageOf, PageQuery } from '../../http/pagination.ts';
import { requestMeta } from '../../http/request-meta.ts';
import { IdParams, responses, Timestamp } from '../../http/schemas.ts';
import { Name, NullableSpokenText, NullableUuid, SECURITY as security, Uuid } from '../shared.ts';
import type { MessageAgentService } from './message-agent.service.ts';

const MessageAgentOut = Type.Object(
  {
    id: Uuid,
    org_id: Uuid,
    owner_id: Uuid,
    name: Type.String(),
    phone_id: Uuid,
    prompt_id: NullableUuid,
    auto_reply: Type.Union([Type.String(), Type.Null()]),
    active: Type.Boolean(),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { title: 'MessageAgent' },
);

const fields = {
  prompt_id: Type.Optional(NullableUuid),
  // One SMS segment set: Twilio splits long bodies; 1600 characters is its limit per message.
  auto_reply: Type.Optional(NullableSpokenText(1600)),
  active: Type.Optional(Type.Boolean()),
};
const CreateBody = Type.Object(
  { name: Name, phone_id: Uuid, ...fields },
  { additionalProperties: false },
);
const UpdateBody = Type.Object(
  { name: Type.Optional(Name), phone_id: Type.Optional(Uuid), ...fields },
  { additionalProperties: false, minProperties: 1 },
);
const ListQuery = Type.Object(
  {
    ...PageQuery,
    owner_id: Type.Optional(Uuid),
    phone_id: Type.Optional(Uuid),
    active: Type.Optional(Type.Boolean()),
    q: Type.Optional(Type.String({ maxLength: 200, description: 'Part of the name' })),
  },
  { additionalProperties: false },
);

export function toMessageAgentJson(a: MessageAgent) {
  return {
    id: a.id,
    org_id: a.org_id,
    owner_id: a.owner_id,
    name: a.name,
    phone_id: a.phone_id,
    prompt_id: a.prompt_id,
    auto_reply: a.auto_reply,
    active: a.active,
    created_at: a.created_at.toISOString(),
    updated_at: a.updated_at.toISOString(),
  };
}

export const messageAgentRoutes: FastifyPluginAsyncTypebox<{
  messageAgents: MessageAgentService;
}> = async (app, { messageAgents }) => {
  const tags = ['message-agents'];
  const base = '/api/message-agents';

  app.post(
    base,
    {
      schema: {
        operationId: 'createMessageAgent',
        tags,
        security,
        summary: 'Create a messaging agent',
        description: 'One active messaging agent per phone: a second answers 409.',
        body: CreateBody,
        response: responses({ 201: MessageAgentOut }, [401, 403, 409, 413, 415]),
      },
    },
    async (request, reply) => {
      const row = await messageAgents.create(
        requirePrincipal(request),
        request.body,
        requestMeta(request),
      );
      return reply.code(201).send(toMessageAgentJson(row));
    },
  );

  app.get(
    base,
    {
      schema: {
        operationId: 'listMessageAgents',
        tags,
        security,
        summary: 'List messaging agents (newest first, cursor pagination)',
        description: 'Members see their own agents; managers, admins and owners all of the org.',
        querystring: ListQuery,
        response: responses({ 200: PageOf(MessageAgentOut) }, [401, 403]),
      },
    },
    async (request) => {
      const { limit = 20, ...rest } = request.query;
      const result = await messageAgents.list(requirePrincipal(request), { limit, ...rest });
      return { items: result.items.map(toMessageAgentJson), next_cursor: result.next_cursor };
    },
  );

  getByIdRoute(
    app,
    `${base}/:id`,
    {
      operationId: 'getMessageAgent',
      tags,
      security,
      summary: 'Get a messaging agent',
    },
    MessageAgentOut,
    async (request, id) =>
      toMessageAgentJson(await messageAgents.get(requirePrincipal(request), id)),
  );

  for (const method of ['patch', 'put'] as const) {
    app[method](
      `${base}/:id`,
      {
        schema: {
          operationId: method === 'patch' ? 'updateMessageAgent' : 'replaceMessageAgent',
          tags,
          security,
          summary:
            method === 'patch'
              ? 'Update a messaging agent'
              : 'Update a messaging agent (same as PATCH: only the fields sent change)',
          params: IdParams,
          body: UpdateBody,
          response: responses({ 200: MessageAgentOut }, [401, 403, 404, 409, 413, 415]),
        },
      },
      async (request) =>
        toMessageAgentJson(
          await messageAgents.update(
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
      operationId: 'deleteMessageAgent',
      tags,
      security,
      summary: 'Delete a messaging agent (soft delete)',
    },
    async (request, id) =>
      messageAgents.remove(requirePrincipal(request), id, requestMeta(request)),
  );
};
