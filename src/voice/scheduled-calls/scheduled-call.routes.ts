// /api/scheduled-calls: outgoing calls placed later by the dispatcher. Routes validate input and
// shape output; the service holds the rules.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requirePrincipal } from '../../access/principal.ts';
import { deleteByIdRoute, getByIdRoute } from '../../http/by-id-routes.ts';
import { PageOf, PageQuery } from '../../http/pagination.ts';
import { requestMeta } from '../../http/request-meta.ts';
import { IdParams, responses, Timestamp } from '../../http/schemas.ts';
import { E164, iso, SECURITY as security, Uuid } from '../shared.ts';
import type { ScheduledCallService, ScheduledCallView } from './scheduled-call.service.ts';

const Status = Type.Enum(['pending', 'dispatching', 'dispatched', 'failed', 'cancelled']);
const NullableTimestamp = Type.Union([Timestamp, Type.Null()]);
const RecipientZone = Type.String({
  minLength: 1,
  maxLength: 64,
  description:
    "IANA time zone of the recipient: the org's calling window applies in it (default: the window's own zone)",
  examples: ['Europe/Berlin'],
});

const ScheduledCallOut = Type.Object(
  {
    id: Uuid,
    org_id: Uuid,
    owner_id: Uuid,
    agent_id: Uuid,
    to: E164,
    scheduled_at: Timestamp,
    status: Status,
    attempts: Type.Integer({
      description:
        'Dispatch attempts spent (counted against DISPATCHER_MAX_ATTEMPTS); 0 again after a PATCH with a new scheduled_at',
    }),
    call_sid: Type.Union([Type.String(), Type.Null()], {
      description: 'The resulting call (GET /api/calls/{call_sid}) once dispatched',
    }),
    last_error: Type.Union([Type.String(), Type.Null()], {
      description:
        'Why the last attempt failed, why the call waits (a quota, the calling window) or why the calling rules cancelled it; null once placed, once a person cancelled it, or after a PATCH with a new scheduled_at',
    }),
    dispatched_at: NullableTimestamp,
    recipient_time_zone: Type.Union([RecipientZone, Type.Null()]),
    dispatch_at: Type.Union([Timestamp, Type.Null()], {
      description:
        "When the call will actually be placed: a pending call's due time moved into the org's calling window (in recipient_time_zone when set); when it was placed once dispatched; null once failed or cancelled, or while the window's stored time zone is one this server's time-zone data no longer knows (the dispatcher then cancels the call rather than guess its local time)",
    }),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { title: 'ScheduledCall' },
);

const CreateBody = Type.Object(
  {
    agent_id: Uuid,
    to: E164,
    scheduled_at: Type.String({
      format: 'date-time',
      description: 'In the future, at most 366 days ahead',
    }),
    recipient_time_zone: Type.Optional(Type.Union([RecipientZone, Type.Null()])),
  },
  { additionalProperties: false },
);
const UpdateBody = Type.Object(
  {
    to: Type.Optional(E164),
    scheduled_at: Type.Optional(
      Type.String({ format: 'date-time', description: 'In the future, at most 366 days ahead' }),
    ),
    recipient_time_zone: Type.Optional(Type.Union([RecipientZone, Type.Null()])),
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
    until: Type.Optional(
      Type.String({
        format: 'date-time',
        description: 'scheduled_at <; later than since when both are sent (else 400)',
      }),
    ),
  },
  { additionalProperties: false },
);

export function toScheduledCallJson(s: ScheduledCallView) {
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
    recipient_time_zone: s.recipient_time_zone,
    dispatch_at: iso(s.dispatch_at),
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
          "Placed by the dispatcher at scheduled_at from the agent's phone, exactly once across instances; failures are retried with backoff, then the call is failed with the reason. Outside the org's calling window the call waits for the next opening (dispatch_at). A number on the org's do-not-call list answers 409 number_on_do_not_call_list.",
        body: CreateBody,
        response: responses({ 201: ScheduledCallOut }, [401, 403, 409, 413, 415]),
      },
    },
    async (request, reply) => {
      const row = await scheduledCalls.create(
        requirePrincipal(request),
        request.body,
        requestMeta(request),
      );
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

  app.patch(
    `${base}/:id`,
    {
      schema: {
        operationId: 'updateScheduledCall',
        tags,
        security,
        summary: 'Change a pending scheduled call',
        description:
          'Only the fields sent change: the number (409 number_on_do_not_call_list when listed), the time (in the future), the recipient time zone (null: the calling window’s own). Only while pending (409 scheduled_call_not_pending once the dispatcher has it), and only while the call can still go: its agent must still be an active outgoing one on an active, verified number (400 on agent_id, 409 phone_not_verified / phone_inactive, as when it was scheduled; cancel it instead). A new scheduled_at also clears last_error and gives the spent attempts back (attempts 0).',
        params: IdParams,
        body: UpdateBody,
        response: responses({ 200: ScheduledCallOut }, [401, 403, 404, 409, 413, 415]),
      },
    },
    async (request) =>
      toScheduledCallJson(
        await scheduledCalls.update(
          requirePrincipal(request),
          request.params.id,
          request.body,
          requestMeta(request),
        ),
      ),
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
        await scheduledCalls.cancel(
          requirePrincipal(request),
          request.params.id,
          requestMeta(request),
        ),
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
    async (request, id) =>
      scheduledCalls.remove(requirePrincipal(request), id, requestMeta(request)),
  );
};
