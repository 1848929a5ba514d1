// /api/prompts: the tenant-resource pattern every voice resource copies. Routes validate input
// and shape output; the service holds the rules.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requirePrincipal } from '../access/principal.ts';
import type { Prompt } from '../db/schema.ts';
import { deleteByIdRoute, getByIdRoute } from '../http/by-id-routes.ts';
import { PageOf, PageQuery } from '../http/pagination.ts';
import { requestMeta } from '../http/request-meta.ts';
import { IdParams, readableName, responses, Timestamp } from '../http/schemas.ts';
import type { PromptService } from './prompt.service.ts';

const PromptOut = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    org_id: Type.String({ format: 'uuid' }),
    owner_id: Type.String({ format: 'uuid' }),
    name: Type.String(),
    content: Type.String(),
    description: Type.Union([Type.String(), Type.Null()]),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { title: 'Prompt' },
);

const name = readableName(200);
const content = Type.String({ minLength: 1, maxLength: 100_000 });
const description = Type.Union([Type.String({ maxLength: 2000 }), Type.Null()]);

const CreateBody = Type.Object(
  { name, content, description: Type.Optional(description) },
  { additionalProperties: false },
);
const UpdateBody = Type.Object(
  {
    name: Type.Optional(name),
    content: Type.Optional(content),
    description: Type.Optional(description),
  },
  { additionalProperties: false, minProperties: 1 },
);
const ListQuery = Type.Object(
  {
    ...PageQuery,
    owner_id: Type.Optional(Type.String({ format: 'uuid' })),
    q: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);

export function toPromptJson(p: Prompt) {
  return {
    id: p.id,
    org_id: p.org_id,
    owner_id: p.owner_id,
    name: p.name,
    content: p.content,
    description: p.description,
    created_at: p.created_at.toISOString(),
    updated_at: p.updated_at.toISOString(),
  };
}

export const promptRoutes: FastifyPluginAsyncTypebox<{ prompts: PromptService }> = async (
  app,
  { prompts },
) => {
  const tags = ['prompts'];
  const security: Record<string, string[]>[] = [{ bearerAuth: [] }, { cookieAuth: [] }];

  app.post(
    '/api/prompts',
    {
      schema: {
        operationId: 'createPrompt',
        tags,
        security,
        summary: 'Create a prompt',
        body: CreateBody,
        response: responses({ 201: PromptOut }, [401, 403, 413, 415]),
      },
    },
    async (request, reply) => {
      const row = await prompts.create(
        requirePrincipal(request),
        request.body,
        requestMeta(request),
      );
      return reply.code(201).send(toPromptJson(row));
    },
  );

  app.get(
    '/api/prompts',
    {
      schema: {
        operationId: 'listPrompts',
        tags,
        security,
        summary: 'List prompts (newest first, cursor pagination)',
        description:
          'Members see their own prompts; managers, admins and owners see all of the org.',
        querystring: ListQuery,
        response: responses({ 200: PageOf(PromptOut) }, [401, 403]),
      },
    },
    async (request) => {
      const { limit = 20, ...rest } = request.query;
      const result = await prompts.list(requirePrincipal(request), { limit, ...rest });
      return { items: result.items.map(toPromptJson), next_cursor: result.next_cursor };
    },
  );

  getByIdRoute(
    app,
    '/api/prompts/:id',
    {
      operationId: 'getPrompt',
      tags,
      security,
      summary: 'Get a prompt',
    },
    PromptOut,
    async (request, id) => toPromptJson(await prompts.get(requirePrincipal(request), id)),
  );

  app.patch(
    '/api/prompts/:id',
    {
      schema: {
        operationId: 'updatePrompt',
        tags,
        security,
        summary: 'Update a prompt',
        params: IdParams,
        body: UpdateBody,
        response: responses({ 200: PromptOut }, [401, 403, 404, 413, 415]),
      },
    },
    async (request) =>
      toPromptJson(
        await prompts.update(
          requirePrincipal(request),
          request.params.id,
          request.body,
          requestMeta(request),
        ),
      ),
  );

  deleteByIdRoute(
    app,
    '/api/prompts/:id',
    { operationId: 'deletePrompt', tags, security, summary: 'Delete a prompt (soft delete)' },
    async (request, id) => prompts.remove(requirePrincipal(request), id, requestMeta(request)),
  );
};
