// /api/conversations: the conversations devices stream over /ws and /ws_pcm (see the README's
// "Device audio"), read, played back and deleted here.
import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requirePrincipal } from '../access/principal.ts';
import type { Conversation } from '../db/schema.ts';
import { deleteByIdRoute, getByIdRoute } from '../http/by-id-routes.ts';
import { AppError } from '../http/errors.ts';
import { PageOf, PageQuery } from '../http/pagination.ts';
import { requestMeta } from '../http/request-meta.ts';
import { IdParams, responses, Timestamp, withHeaders } from '../http/schemas.ts';
import type { ConversationService } from './conversation.service.ts';

const security: Record<string, string[]>[] = [{ bearerAuth: [] }, { cookieAuth: [] }];
const Uuid = Type.String({ format: 'uuid' });
const Status = Type.Enum(['recording', 'complete', 'interrupted', 'failed'], {
  description:
    '`recording` while the device streams; `complete` once it ended (audio-stop, the socket closed, a limit or a protocol error: see `end_reason`); `interrupted` when its file was repaired from what reached the disk: the recovery sweep finalised it after its writer stopped, or storage failed mid-stream (`end_reason` ends with `storage failed`); `failed` when no usable audio was stored (its /audio answers 404)',
});

const ConversationOut = Type.Object(
  {
    id: Uuid,
    org_id: Uuid,
    user_id: Type.String({ format: 'uuid', description: 'Whose device streamed it' }),
    device_id: Uuid,
    client_id: Type.String({ description: '`<last 6 characters of the user id>-<device name>`' }),
    device_name: Type.String(),
    codec: Type.Union([Type.Literal('opus'), Type.Literal('pcm')], {
      description: '`opus` (from /ws, stored as Ogg Opus) or `pcm` (from /ws_pcm, stored as WAV)',
    }),
    content_type: Type.String({ description: 'What /audio answers: audio/ogg or audio/wav' }),
    sample_rate: Type.Integer({ description: 'Hz, as announced by the device' }),
    channels: Type.Integer({ minimum: 1, maximum: 2 }),
    status: Status,
    end_reason: Type.Union([Type.String(), Type.Null()]),
    started_at: Timestamp,
    ended_at: Type.Union([Timestamp, Type.Null()]),
    bytes: Type.Integer({
      description:
        "Audio bytes in the file after its format header: the WAV data (PCM), or the Ogg pages after the OpusHead and OpusTags pages, page headers included (Opus). `AUDIO_MAX_CONVERSATION_BYTES` limits the audio bytes. For a `failed` conversation whose file was kept after a storage error: the file's whole size on disk (its header included), or the last known bytes when that size cannot be read.",
    }),
    duration_ms: Type.Integer(),
  },
  { title: 'Conversation' },
);

const ListQuery = Type.Object(
  {
    ...PageQuery,
    user_id: Type.Optional(
      Type.String({ format: 'uuid', description: "A member's conversations (managers and up)" }),
    ),
    device_id: Type.Optional(Uuid),
    client_id: Type.Optional(Type.String({ maxLength: 64 })),
    status: Type.Optional(Status),
    since: Type.Optional(Type.String({ format: 'date-time', description: 'started_at ≥' })),
    until: Type.Optional(
      Type.String({
        format: 'date-time',
        description: 'started_at <; later than since when both are sent (else 400)',
      }),
    ),
  },
  { additionalProperties: false },
);

const CONTENT_TYPE = { pcm: 'audio/wav', opus: 'audio/ogg' } as const;

export function toConversationJson(c: Conversation) {
  return {
    id: c.id,
    org_id: c.org_id,
    user_id: c.user_id,
    device_id: c.device_id,
    client_id: c.client_id,
    device_name: c.device_name,
    codec: c.codec,
    content_type: CONTENT_TYPE[c.codec],
    sample_rate: c.sample_rate,
    channels: c.channels,
    status: c.status,
    end_reason: c.end_reason,
    started_at: c.started_at.toISOString(),
    ended_at: c.ended_at ? c.ended_at.toISOString() : null,
    bytes: Number(c.bytes),
    duration_ms: Number(c.duration_ms),
  };
}

/**
 * One byte range of a `Range: bytes=…` header within `size`, null for the whole file: no header,
 * another unit, several ranges (RFC 9110 lets us answer those with the whole file) or a range that
 * is not one (`bytes=5-2`: its last position before its first, which RFC 9110 §14.1.1 calls
 * invalid and §14.2 lets a server ignore). Throws 416 only for a valid range that lies outside the
 * file. The unit is matched case-insensitively (§14.1: `BYTES=0-9` is the same request).
 */
export function byteRange(header: string | undefined, size: number): [number, number] | null {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/i.exec(header.trim());
  if (!m) return null;
  const [, a = '', b = ''] = m;
  let start: number;
  let end: number;
  if (a === '' && b === '') return null;
  if (a === '') {
    start = Math.max(0, size - Number(b));
    end = size - 1;
  } else {
    if (b !== '' && Number(b) < Number(a)) return null;
    start = Number(a);
    end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  }
  if (start >= size || start > end) {
    throw new AppError('range_not_satisfiable', undefined, {
      headers: { 'content-range': `bytes */${size}` },
    });
  }
  return [start, end];
}

/** A file body: binary in the OpenAPI document, a stream to Fastify's types. */
const File = Type.Unsafe<NodeJS.ReadableStream>({ type: 'string', format: 'binary' });
const Audio = {
  description: 'The audio file: WAV (PCM) or Ogg Opus',
  content: { 'audio/wav': { schema: File }, 'audio/ogg': { schema: File } },
};

/** Sent with the whole file and with a part of it: the route takes `Range: bytes=…`. */
const AcceptRanges = {
  type: 'string',
  const: 'bytes',
  description: 'Byte ranges may be asked for (`Range: bytes=…`, one range)',
} as const;

export const conversationRoutes: FastifyPluginAsyncTypebox<{
  conversations: ConversationService;
}> = async (app, { conversations }) => {
  const tags = ['conversations'];
  const visibility =
    'Members see their own conversations; owners, admins and managers every conversation of the org.';

  app.get(
    '/api/conversations',
    {
      schema: {
        operationId: 'listConversations',
        tags,
        security,
        summary: 'List conversations (newest first, cursor pagination)',
        description: visibility,
        querystring: ListQuery,
        response: responses({ 200: PageOf(ConversationOut) }, [401, 403]),
      },
    },
    async (request) => {
      const {
        limit = 20,
        cursor,
        user_id,
        device_id,
        client_id,
        status,
        since,
        until,
      } = request.query;
      const result = await conversations.list(requirePrincipal(request), {
        limit,
        cursor,
        userId: user_id,
        deviceId: device_id,
        clientId: client_id,
        status,
        since,
        until,
      });
      return { items: result.items.map(toConversationJson), next_cursor: result.next_cursor };
    },
  );

  getByIdRoute(
    app,
    '/api/conversations/:id',
    {
      operationId: 'getConversation',
      tags,
      security,
      summary: 'Get a conversation',
      description: visibility,
    },
    ConversationOut,
    async (request, id) =>
      toConversationJson(await conversations.get(requirePrincipal(request), id)),
  );

  app.get(
    '/api/conversations/:id/audio',
    {
      schema: {
        operationId: 'getConversationAudio',
        tags,
        security,
        summary: "Download or play a conversation's audio",
        description:
          'The stored file: `audio/wav` for PCM streams, `audio/ogg` (Opus) for Opus streams. Supports a single `Range: bytes=…` (206 Partial Content), so browsers can seek. Sent with `Cache-Control: no-store`. A conversation still recording answers `409 conversation_recording`; one without audio (`failed`, or deleted meanwhile) `404 not_found`.',
        params: IdParams,
        response: {
          ...responses({}, [401, 403, 404, 409]),
          200: withHeaders(Audio, { 'Accept-Ranges': AcceptRanges }),
          206: withHeaders(
            { ...Audio, description: 'The requested byte range of the file' },
            {
              'Accept-Ranges': AcceptRanges,
              'Content-Range': {
                type: 'string',
                description:
                  "The range sent, its first and last byte positions, and the file's size, e.g. `bytes 40-99/48044`",
              },
            },
          ),
          416: withHeaders(Type.Ref('Problem'), {
            'Content-Range': {
              type: 'string',
              description:
                "The file's size, for a range inside it (`range_not_satisfiable`), e.g. `bytes */48044`",
            },
          }),
        },
      },
    },
    async (request, reply) => {
      const audio = await conversations.audio(requirePrincipal(request), request.params.id);
      // The service hands over an open file: every path from here closes it, a refused range
      // (416) and HEAD at once, a body when it ends or when Fastify destroys it because the
      // client went away.
      let body: Readable;
      try {
        const range = byteRange(request.headers.range, audio.size);
        const ext = audio.row.codec === 'pcm' ? 'wav' : 'ogg';
        reply
          .type(audio.contentType)
          .header('accept-ranges', 'bytes')
          // A tenant's recorded speech: no browser disk cache or shared proxy may keep it (there
          // are no validators to revalidate with anyway).
          .header('cache-control', 'no-store')
          .header('content-disposition', `inline; filename="conversation-${audio.row.id}.${ext}"`);
        if (range) {
          const [start, end] = range;
          reply
            .code(206)
            .header('content-range', `bytes ${start}-${end}/${audio.size}`)
            .header('content-length', end - start + 1);
        } else {
          reply.header('content-length', audio.size);
        }
        if (request.method === 'HEAD') {
          await audio.file.close();
          // An empty stream, not undefined: Fastify's HEAD handling keeps our content-length then.
          body = Readable.from([]);
        } else {
          body = audio.file.createReadStream(range ? { start: range[0], end: range[1] } : {});
        }
      } catch (err) {
        await audio.file.close();
        throw err;
      }
      return reply.send(body);
    },
  );

  deleteByIdRoute(
    app,
    '/api/conversations/:id',
    {
      operationId: 'deleteConversation',
      tags,
      security,
      summary: 'Delete a conversation (soft delete; its audio file is removed)',
      description:
        'Members delete their own conversations; owners, admins and managers any of the org. Audited (`conversation.delete`). The row stays, hidden; its file is removed right after (a conversation still recording: once it ends, by the recovery sweep).',
    },
    async (request, id) =>
      conversations.remove(requirePrincipal(request), id, requestMeta(request)),
  );
};
