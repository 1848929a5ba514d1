// /api/calls: the call log, written by Twilio's webhooks and the dispatcher, read-only here.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requirePrincipal } from '../../access/principal.ts';
import type { Call } from '../../db/schema.ts';
import { PageOf, PageQuery } from '../../http/pagination.ts';
import { responses, Timestamp } from '../../http/schemas.ts';
import { iso, NullableUuid, SECURITY as security, Uuid } from '../shared.ts';
import type { CallService } from './call.service.ts';

export const CALL_SID_PATTERN = '^CA[0-9a-fA-F]{32}$';

export const CallStatusSchema = Type.Enum([
  'queued',
  'initiated',
  'ringing',
  'in-progress',
  'completed',
  'busy',
  'failed',
  'no-answer',
  'canceled',
]);
const Direction = Type.Union([Type.Literal('inbound'), Type.Literal('outbound')]);
const NullableTimestamp = Type.Union([Timestamp, Type.Null()]);

const CallOut = Type.Object(
  {
    id: Uuid,
    call_sid: Type.String({ pattern: CALL_SID_PATTERN }),
    org_id: Uuid,
    phone_id: NullableUuid,
    agent_id: NullableUuid,
    scheduled_call_id: NullableUuid,
    direction: Direction,
    from: Type.String(),
    to: Type.String(),
    status: CallStatusSchema,
    started_at: Timestamp,
    answered_at: NullableTimestamp,
    ended_at: NullableTimestamp,
    duration_seconds: Type.Union([Type.Integer(), Type.Null()]),
  },
  { title: 'Call' },
);

const ListQuery = Type.Object(
  {
    ...PageQuery,
    status: Type.Optional(CallStatusSchema),
    direction: Type.Optional(Direction),
    phone_id: Type.Optional(
      Type.String({
        format: 'uuid',
        description: 'Only the calls of this phone; an id you cannot see lists nothing',
      }),
    ),
    agent_id: Type.Optional(
      Type.String({
        format: 'uuid',
        description: 'Only the calls of this agent; an id you cannot see lists nothing',
      }),
    ),
    since: Type.Optional(Type.String({ format: 'date-time', description: 'started_at ≥' })),
    until: Type.Optional(
      Type.String({
        format: 'date-time',
        description: 'started_at <; later than since when both are sent (else 400)',
      }),
    ),
    number: Type.Optional(
      Type.String({ maxLength: 64, description: 'Calls from or to this number' }),
    ),
  },
  { additionalProperties: false },
);
const LiveQuery = Type.Object({ ...PageQuery }, { additionalProperties: false });
const SidParams = Type.Object({ call_sid: Type.String({ pattern: CALL_SID_PATTERN }) });

export function toCallJson(c: Call) {
  return {
    id: c.id,
    call_sid: c.call_sid,
    org_id: c.org_id,
    phone_id: c.phone_id,
    agent_id: c.agent_id,
    scheduled_call_id: c.scheduled_call_id,
    direction: c.direction,
    from: c.from_number,
    to: c.to_number,
    status: c.status,
    started_at: c.started_at.toISOString(),
    answered_at: iso(c.answered_at),
    ended_at: iso(c.ended_at),
    duration_seconds: c.duration_seconds,
  };
}

export const callRoutes: FastifyPluginAsyncTypebox<{ calls: CallService }> = async (
  app,
  { calls },
) => {
  const tags = ['calls'];
  const visibility =
    'Members see the calls of their own phones and agents; managers, admins and owners all of the org.';

  app.get(
    '/api/calls',
    {
      schema: {
        operationId: 'listCalls',
        tags,
        security,
        summary: 'List calls (newest first, cursor pagination)',
        description: visibility,
        querystring: ListQuery,
        response: responses({ 200: PageOf(CallOut) }, [401, 403]),
      },
    },
    async (request) => {
      const q = request.query;
      const result = await calls.list(requirePrincipal(request), {
        limit: q.limit ?? 20,
        cursor: q.cursor,
        since: q.since,
        until: q.until,
        status: q.status,
        direction: q.direction,
        phoneId: q.phone_id,
        agentId: q.agent_id,
        number: q.number,
      });
      return { items: result.items.map(toCallJson), next_cursor: result.next_cursor };
    },
  );

  app.get(
    '/api/calls/active',
    {
      schema: {
        operationId: 'listActiveCalls',
        tags,
        security,
        summary: 'List calls in progress (queued, initiated, ringing, in-progress)',
        description: visibility,
        querystring: LiveQuery,
        response: responses({ 200: PageOf(CallOut) }, [401, 403]),
      },
    },
    async (request) => {
      const { limit = 20, cursor } = request.query;
      const result = await calls.live(requirePrincipal(request), { limit, cursor });
      return { items: result.items.map(toCallJson), next_cursor: result.next_cursor };
    },
  );

  app.get(
    '/api/calls/:call_sid',
    {
      schema: {
        operationId: 'getCall',
        tags,
        security,
        summary: "Get a call by Twilio's CallSid",
        params: SidParams,
        response: responses({ 200: CallOut }, [401, 403, 404]),
      },
    },
    async (request) =>
      toCallJson(await calls.get(requirePrincipal(request), request.params.call_sid)),
  );
};
