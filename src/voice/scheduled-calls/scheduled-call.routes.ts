// /api/scheduled-calls: outgoing calls placed later by the dispatcher. Routes validate input and
// shape output; the service holds the rules.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requirePrincipal } from '../../access/principal.ts';
import type { ScheduledCall } from '../../db/schema.ts';
import { deleteByIdRoute, getByIdRoute } from '../../http/by-id-routes.ts';
import { PageOf, PageQuery } from '../../http/pagination.ts';
import { IdParams, responses, Timestamp } from '../../http/schemas.ts';
import { E164, iso, SECURITY as security, Uuid } from '../shared.ts';
import type { ScheduledCallService } from './scheduled-call.service.ts';

const Status = Type.Enum(['pending', 'dispatching', 'dispatched', 'failed', 'cancelled']);
const NullableTimestamp = Type.Union([Timestamp, Type.Null()]);

const ScheduledCallOut = Type.Object(
  {
    id: Uuid,
    org_id: Uuid,
    owner_id: Uuid,
    agent_id: Uuid,
    to: E164,
    scheduled_at: Timestamp,
    status: Status,
    attempts: Type.Integer({ description: 'Dispatch attempts so far' }),
    call_sid: Type.Union([Type.String(), Type.Null()], {
      description: 'The resulting call (GET /api/calls/{call_sid}) once dispatched',
    }),
    last_error: Type.Union([Type.String(), Type.Null()], {
      description: 'Why the last attempt failed',
    }),
    dispatched_at: NullableTimestamp,
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { title: 'ScheduledCall' },
);

const CreateBody = Type.Object(
  {
    agent_id: Uuid,
    to: E164,
    scheduled_at: Type.String({ format: 'date-time', description: 'In the future' }),
  },
  { additionalProperties: false },
);
const ListQuery = Type.Object(
  {
    ...PageQuery,
    owner_id: Type.Optional(Uuid),
    agent_id: Type.Optional(Uuid),
    status: Type.Optional(Status),
    since: Type.Optional(Type.String({ format: 'date-time', description: 'scheduled_at ≥' })),
    until: Type.Optional(Type.String({ format: 'date-time', description: 'scheduled_at <' })),
  },
  { additionalProperties: false },
);

export function toScheduledCallJson(s: ScheduledCall) {
  return {
    id: s.id,
    org_id: s.org_id,
    owner_id: s.owner_id,
    agent_id: s.agent_id,
    to: s.to_number,
    scheduled_at: s.scheduled_at.toISOString(),
    status: s.status,
    attempts: s.attempts,
    call_sid: s.call_sid,
    last_error: s.last_error,
    dispatched_at: iso(s.dispatched_at),
    created_at: s.created_at.toISOString(),
    updated_at: s.updated_at.toISOString(),
  };
}

export const scheduledCallRoutes: FastifyPluginAsyncTypebox<{
  scheduledCalls: ScheduledCallService;
}> = async (app, { scheduledCalls }) => {
  const tags = ['scheduled-calls'];
  const base = '/api/scheduled-calls';

  app.post(
    base,
    {
      schema: {
        operationId: 'createScheduledCall',
        tags,
        security,
        summary: 'Schedule an outgoing call',
        description:
          "Placed by the dispatcher at scheduled_at from the agent's phone, exactly once across instances; failures are retried with backoff, then the call is failed with the reason.",
        body: CreateBody,
        response: responses({ 201: ScheduledCallOut }, [401, 403, 413, 415]),
      },
    },
    async (request, reply) => {
      const row = await scheduledCalls.create(requirePrincipal(request), request.body);
      return reply.code(201).send(toScheduledCallJson(row));
    },
  );

  app.get(
    base,
    {
      schema: {
        operationId: 'listScheduledCalls',
        tags,
        security,
        summary: 'List scheduled calls (newest first, cursor pagination)',
        description: 'Members see their own; managers, admins and owners all of the org.',
        querystring: ListQuery,
        response: responses({ 200: PageOf(ScheduledCallOut) }, [401, 403]),
      },
    },
    async (request) => {
      const { limit = 20, ...rest } = request.query;
      const result = await scheduledCalls.list(requirePrincipal(request), { limit, ...rest });
      return { items: result.items.map(toScheduledCallJson), next_cursor: result.next_cursor };
    },
  );

  getByIdRoute(
    app,
    `${base}/:id`,
    {
      operationId: 'getScheduledCall',
      tags,
      security,
      summary: 'Get a scheduled call',
    },
    ScheduledCallOut,
    async (request, id) =>
      toScheduledCallJson(await scheduledCalls.get(requirePrincipal(request), id)),
  );

  app.post(
    `${base}/:id/cancel`,
    {
      schema: {
        operationId: 'cancelScheduledCall',
        tags,
        security,
        summary: 'Cancel a pending scheduled call',
        description: 'Only a pending call can be cancelled (409 once the dispatcher has it).',
        params: IdParams,
        response: responses({ 200: ScheduledCallOut }, [401, 403, 404, 409]),
      },
    },
    async (request) =>
      toScheduledCallJson(
        await scheduledCalls.cancel(requirePrincipal(request), request.params.id),
      ),
  );

  deleteByIdRoute(
    app,
    `${base}/:id`,
    {
      operationId: 'deleteScheduledCall',
      tags,
      security,
      summary: 'Delete a scheduled call',
      description:
        'Cancels a pending call and hides it; a finished one is hidden (soft delete). A call being placed right now answers 409.',
      alsoAnswers: [409],
    },
    async (request, id) => scheduledCalls.remove(requirePrincipal(request), id),
  );
};
