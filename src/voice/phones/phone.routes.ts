// /api/phones: the org's Twilio numbers. Routes validate input and shape output; the service
// holds the rules.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requirePrincipal } from '../../access/principal.ts';
import { requestMeta } from '../../auth/auth-context.ts';
import type { Phone } from '../../db/schema.ts';
import { PageOf, PageQuery } from '../../http/pagination.ts';
import { IdParams, NoContent, responses, Timestamp } from '../../http/schemas.ts';
import { E164, NullableText, SECURITY as security, Uuid } from '../shared.ts';
import type { PhoneService } from './phone.service.ts';

const PhoneOut = Type.Object(
  {
    id: Uuid,
    org_id: Uuid,
    owner_id: Uuid,
    number: E164,
    label: Type.Union([Type.String(), Type.Null()]),
    active: Type.Boolean({ description: 'Routes inbound calls and messages to this org' }),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { title: 'Phone' },
);

const label = NullableText(200);
const CreateBody = Type.Object(
  { number: E164, label: Type.Optional(label), active: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
);
const UpdateBody = Type.Object(
  { label: Type.Optional(label), active: Type.Optional(Type.Boolean()) },
  { additionalProperties: false, minProperties: 1 },
);
const ListQuery = Type.Object(
  {
    ...PageQuery,
    owner_id: Type.Optional(Uuid),
    active: Type.Optional(Type.Boolean()),
    q: Type.Optional(Type.String({ maxLength: 200, description: 'Part of the number or label' })),
  },
  { additionalProperties: false },
);

export function toPhoneJson(p: Phone) {
  return {
    id: p.id,
    org_id: p.org_id,
    owner_id: p.owner_id,
    number: p.number,
    label: p.label,
    active: p.active,
    created_at: p.created_at.toISOString(),
    updated_at: p.updated_at.toISOString(),
  };
}

export const phoneRoutes: FastifyPluginAsyncTypebox<{ phones: PhoneService }> = async (
  app,
  { phones },
) => {
  const tags = ['phones'];

  app.post(
    '/api/phones',
    {
      schema: {
        tags,
        security,
        summary: 'Register a phone number',
        description:
          'A number may be registered in several orgs but is active (routes inbound calls and messages) in one at a time: 409 number_in_use otherwise.',
        body: CreateBody,
        response: responses({ 201: PhoneOut }, [401, 403, 409, 413, 415]),
      },
    },
    async (request, reply) => {
      const row = await phones.create(
        requirePrincipal(request),
        request.body,
        requestMeta(request),
      );
      return reply.code(201).send(toPhoneJson(row));
    },
  );

  app.get(
    '/api/phones',
    {
      schema: {
        tags,
        security,
        summary: 'List phone numbers (newest first, cursor pagination)',
        description: 'Members see their own numbers; managers, admins and owners all of the org.',
        querystring: ListQuery,
        response: responses({ 200: PageOf(PhoneOut) }, [401, 403]),
      },
    },
    async (request) => {
      const { limit = 20, ...rest } = request.query;
      const result = await phones.list(requirePrincipal(request), { limit, ...rest });
      return { items: result.items.map(toPhoneJson), next_cursor: result.next_cursor };
    },
  );

  app.get(
    '/api/phones/:id',
    {
      schema: {
        tags,
        security,
        summary: 'Get a phone number',
        params: IdParams,
        response: responses({ 200: PhoneOut }, [401, 403, 404]),
      },
    },
    async (request) => toPhoneJson(await phones.get(requirePrincipal(request), request.params.id)),
  );

  app.patch(
    '/api/phones/:id',
    {
      schema: {
        tags,
        security,
        summary: 'Update a phone number (label, active)',
        params: IdParams,
        body: UpdateBody,
        response: responses({ 200: PhoneOut }, [401, 403, 404, 409, 413, 415]),
      },
    },
    async (request) =>
      toPhoneJson(
        await phones.update(
          requirePrincipal(request),
          request.params.id,
          request.body,
          requestMeta(request),
        ),
      ),
  );

  app.delete(
    '/api/phones/:id',
    {
      schema: {
        tags,
        security,
        summary: 'Delete a phone number (soft delete; stops routing)',
        params: IdParams,
        response: responses({ 204: NoContent }, [401, 403, 404]),
      },
    },
    async (request, reply) => {
      await phones.remove(requirePrincipal(request), request.params.id, requestMeta(request));
      return reply.code(204).send(null);
    },
  );
};
