// /api/messages: the SMS log, written by Twilio's webhook, read-only here; and conversations
// (messages grouped by phone and counterpart number, newest first).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requirePrincipal } from '../../access/principal.ts';
import type { Message } from '../../db/schema.ts';
import { AppError } from '../../http/errors.ts';
import { PageOf, PageQuery } from '../../http/pagination.ts';
import { responses, Timestamp } from '../../http/schemas.ts';
import { NullableUuid, SECURITY as security, Uuid } from '../shared.ts';
import type { MessageService } from './message.service.ts';

const Direction = Type.Union([Type.Literal('inbound'), Type.Literal('outbound')]);

const MessageOut = Type.Object(
  {
    id: Uuid,
    message_sid: Type.Union([Type.String(), Type.Null()], {
      description: 'Twilio MessageSid (null for auto-replies sent as TwiML)',
    }),
    org_id: Uuid,
    phone_id: NullableUuid,
    message_agent_id: NullableUuid,
    direction: Direction,
    from: Type.String(),
    to: Type.String(),
    counterpart: Type.String({
      description: 'The other party: from when inbound, to when outbound',
    }),
    body: Type.String(),
    num_media: Type.Integer(),
    status: Type.Union([Type.String(), Type.Null()]),
    created_at: Timestamp,
  },
  { title: 'Message' },
);

const ConversationOut = Type.Object(
  {
    phone_id: NullableUuid,
    counterpart: Type.String(),
    message_count: Type.Integer(),
    last_message: MessageOut,
  },
  { title: 'Conversation' },
);

const ListQuery = Type.Object(
  {
    ...PageQuery,
    phone_id: Type.Optional(Uuid),
    phoneless: Type.Optional(
      Type.Boolean({
        description:
          'true: only the texts logged without a phone (a conversation whose phone_id is null). Not with phone_id',
      }),
    ),
    direction: Type.Optional(Direction),
    counterpart: Type.Optional(Type.String({ maxLength: 64 })),
    since: Type.Optional(Type.String({ format: 'date-time', description: 'created_at ≥' })),
    until: Type.Optional(
      Type.String({
        format: 'date-time',
        description: 'created_at <; later than since when both are sent (else 400)',
      }),
    ),
  },
  { additionalProperties: false },
);
const ConversationQuery = Type.Object(
  { ...PageQuery, phone_id: Type.Optional(Uuid) },
  { additionalProperties: false },
);

export function toMessageJson(m: Message) {
  return {
    id: m.id,
    message_sid: m.message_sid,
    org_id: m.org_id,
    phone_id: m.phone_id,
    message_agent_id: m.message_agent_id,
    direction: m.direction,
    from: m.from_number,
    to: m.to_number,
    counterpart: m.counterpart,
    body: m.body,
    num_media: m.num_media,
    status: m.status,
    created_at: m.created_at.toISOString(),
  };
}

export const messageRoutes: FastifyPluginAsyncTypebox<{ messages: MessageService }> = async (
  app,
  { messages },
) => {
  const tags = ['messages'];
  const visibility =
    'Members see the messages of their own phones and messaging agents; managers, admins and owners all of the org.';

  app.get(
    '/api/messages',
    {
      schema: {
        operationId: 'listMessages',
        tags,
        security,
        summary: 'List messages (newest first, cursor pagination)',
        description: visibility,
        querystring: ListQuery,
        response: responses({ 200: PageOf(MessageOut) }, [401, 403]),
      },
    },
    async (request) => {
      const q = request.query;
      if (q.phone_id && q.phoneless) {
        throw new AppError('validation_failed', 'phone_id and phoneless exclude each other', {
          errors: [{ field: 'phoneless', message: 'must not be set with phone_id' }],
        });
      }
      const result = await messages.list(requirePrincipal(request), {
        limit: q.limit ?? 20,
        cursor: q.cursor,
        since: q.since,
        until: q.until,
        phoneId: q.phone_id,
        phoneless: q.phoneless,
        direction: q.direction,
        counterpart: q.counterpart,
      });
      return { items: result.items.map(toMessageJson), next_cursor: result.next_cursor };
    },
  );

  app.get(
    '/api/messages/conversations',
    {
      schema: {
        operationId: 'listMessageConversations',
        tags,
        security,
        summary: 'List conversations: messages grouped by phone and counterpart, newest first',
        description: visibility,
        querystring: ConversationQuery,
        response: responses({ 200: PageOf(ConversationOut) }, [401, 403]),
      },
    },
    async (request) => {
      const { limit = 20, cursor, phone_id } = request.query;
      const result = await messages.conversations(requirePrincipal(request), {
        limit,
        cursor,
        phoneId: phone_id,
      });
      return {
        items: result.items.map(({ message_count, ...last }) => ({
          phone_id: last.phone_id,
          counterpart: last.counterpart,
          message_count: Number(message_count),
          last_message: toMessageJson(last),
        })),
        next_cursor: result.next_cursor,
      };
    },
  );
};
