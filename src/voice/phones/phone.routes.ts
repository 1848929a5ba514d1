// /api/phones: the org's Twilio numbers. Routes validate input and shape output; the service
// holds the rules.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requirePrincipal } from '../../access/principal.ts';
import type { Phone } from '../../db/schema.ts';
import { deleteByIdRoute, getByIdRoute } from '../../http/by-id-routes.ts';
import { PageOf, PageQuery } from '../../http/pagination.ts';
import { requestMeta } from '../../http/request-meta.ts';
import { IdParams, plainText, responses, Timestamp } from '../../http/schemas.ts';
import { E164, iso, NullableText, SECURITY as security, Uuid } from '../shared.ts';
import type { createPhoneAssignment, PhoneService } from './phone.service.ts';

const PhoneOut = Type.Object(
  {
    id: Uuid,
    org_id: Uuid,
    owner_id: Uuid,
    number: E164,
    label: Type.Union([Type.String(), Type.Null()]),
    active: Type.Boolean({
      description: 'Routes inbound calls and messages to this org, once the number is verified',
    }),
    verification_status: Type.Union(
      [Type.Literal('pending_verification'), Type.Literal('verified')],
      {
        description:
          'pending_verification: inert (no calls routed or placed) until ownership is proven — on the org own Twilio account (POST /api/phones/{id}/verify) or, on the platform account, by the platform operator',
      },
    ),
    verification_method: Type.Union([
      Type.Literal('twilio_account'),
      Type.Literal('platform_assignment'),
      Type.Null(),
    ]),
    verified_at: Type.Union([Timestamp, Type.Null()]),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { title: 'Phone' },
);

const label = Type.Union([plainText(200), Type.Null()]);
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
    verification_status: p.verification_status,
    verification_method: p.verification_method,
    verified_at: iso(p.verified_at),
    created_at: p.created_at.toISOString(),
    updated_at: p.updated_at.toISOString(),
  };
}

const AssignBody = Type.Object({ org_id: Uuid, number: E164 }, { additionalProperties: false });

export const phoneRoutes: FastifyPluginAsyncTypebox<{
  phones: PhoneService;
  assign: ReturnType<typeof createPhoneAssignment>;
}> = async (app, { phones, assign }) => {
  const tags = ['phones'];

  app.post(
    '/api/phones',
    {
      schema: {
        operationId: 'createPhone',
        tags,
        security,
        summary: 'Register a phone number',
        description:
          'The number starts pending_verification: it routes and places no calls until its ownership is proven (POST /api/phones/{id}/verify on an org with its own Twilio account; otherwise the platform operator assigns it). Registering a number another org holds answers exactly like registering a free one.',
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
        operationId: 'listPhones',
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

  getByIdRoute(
    app,
    '/api/phones/:id',
    {
      operationId: 'getPhone',
      tags,
      security,
      summary: 'Get a phone number',
    },
    PhoneOut,
    async (request, id) => toPhoneJson(await phones.get(requirePrincipal(request), id)),
  );

  app.patch(
    '/api/phones/:id',
    {
      schema: {
        operationId: 'updatePhone',
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

  app.post(
    '/api/phones/:id/verify',
    {
      schema: {
        operationId: 'verifyPhone',
        tags,
        security,
        summary: "Verify a phone number on the org's own Twilio account",
        description:
          "Looks the number up on the org's Twilio account (IncomingPhoneNumbers). Found: verified. Not found (or not verifiable): 409 phone_not_on_account, and a number verified earlier becomes pending again. An org on the platform account: 409 phone_assignment_required (the platform operator assigns its numbers). Twilio refusing the credentials: 409 twilio_credentials_rejected; Twilio unreachable: 502 twilio_unavailable. The org's account changed while the check was on the wire: 409 twilio_account_changed, nothing verified (verify again).",
        params: IdParams,
        response: responses({ 200: PhoneOut }, [401, 403, 404, 409, 502]),
      },
    },
    async (request) =>
      toPhoneJson(
        await phones.verify(requirePrincipal(request), request.params.id, requestMeta(request)),
      ),
  );

  app.post(
    '/api/admin/phone-assignments',
    {
      schema: {
        operationId: 'assignPhone',
        tags: ['admin'],
        security,
        summary: 'Assign a platform-account number to an org (superuser)',
        description:
          "Marks the org's registered number verified, taking it from any other org that held it (each change audited in its org). Only for orgs on the platform Twilio account: 409 phone_verified_by_account otherwise. 404 when the org has not registered the number.",
        body: AssignBody,
        response: responses({ 200: PhoneOut }, [401, 403, 404, 409, 413, 415]),
      },
    },
    async (request) =>
      toPhoneJson(await assign(requirePrincipal(request), request.body, requestMeta(request))),
  );

  deleteByIdRoute(
    app,
    '/api/phones/:id',
    {
      operationId: 'deletePhone',
      tags,
      security,
      summary: 'Delete a phone number (soft delete; stops routing)',
    },
    async (request, id) => phones.remove(requirePrincipal(request), id, requestMeta(request)),
  );
};
