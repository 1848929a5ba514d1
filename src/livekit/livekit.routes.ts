// LiveKit room tokens and voice sessions: POST /api/livekit/token and its source-document path
// POST /auth/token (same body, same answer), GET /api/voice-sessions. The webhook LiveKit calls
// is in livekit-webhook.routes.ts (it reads the raw body).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { type Static, Type } from 'typebox';
import { requirePrincipal } from '../access/principal.ts';
import { VOICE_SESSION_END_REASONS, type VoiceSession } from '../db/schema.ts';
import { PageOf, PageQuery } from '../http/pagination.ts';
import { optionalBody, responses, Timestamp } from '../http/schemas.ts';
import type { LiveKit } from './livekit.service.ts';
import { ROOM_NAME_PATTERN } from './room-names.ts';

const SECURITY: Record<string, string[]>[] = [{ bearerAuth: [] }, { cookieAuth: [] }];
const Uuid = Type.String({ format: 'uuid' });
const NullableTimestamp = Type.Union([Timestamp, Type.Null()]);

const TokenRequest = Type.Object(
  {
    room_name: Type.Optional(
      Type.String({
        maxLength: 64,
        pattern: ROOM_NAME_PATTERN,
        description:
          'The room inside your organization (letters, digits, "-", "_", never "__"); the full LiveKit name is `<org id>__<room_name>`. Default: your personal room `user-<your user id>`',
      }),
    ),
    participant_name: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 128,
        description: 'Display name in the room (default: your full name)',
      }),
    ),
    agent_name: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$',
        description:
          'Dispatch this LiveKit agent into the room (through the token’s room configuration, when the token creates the room)',
      }),
    ),
  },
  { additionalProperties: false },
);

const TokenOut = Type.Object(
  {
    livekit_token: Type.String({ description: 'LiveKit access token (JWT) for the room' }),
    livekit_url: Type.String({ description: 'The LiveKit server to connect to' }),
    room_name: Type.String({ description: 'Full LiveKit room name `<org id>__<name>`' }),
    session_id: Type.String({ format: 'uuid', description: 'The voice session this token opened' }),
    expires_at: Timestamp,
  },
  { title: 'LiveKitToken' },
);

const VoiceSessionStatus = Type.Enum(['issued', 'active', 'ended', 'expired', 'revoked']);

const VoiceSessionOut = Type.Object(
  {
    id: Uuid,
    org_id: Uuid,
    user_id: Uuid,
    identity: Type.String({ description: 'LiveKit participant identity (the user id)' }),
    room_name: Type.String(),
    source: Type.Enum(['api', 'auth_token', 'register', 'login'], {
      description: 'Where the token was issued',
    }),
    status: VoiceSessionStatus,
    token_expires_at: Timestamp,
    started_at: NullableTimestamp,
    ended_at: NullableTimestamp,
    duration_seconds: Type.Union([Type.Integer(), Type.Null()]),
    end_reason: Type.Union([Type.Enum([...VOICE_SESSION_END_REASONS]), Type.Null()]),
    created_at: Timestamp,
  },
  { title: 'VoiceSession' },
);

const ListQuery = Type.Object(
  {
    ...PageQuery,
    user_id: Type.Optional(Uuid),
    room_name: Type.Optional(
      Type.String({
        maxLength: 120,
        description: 'The room inside your organization, or its full name',
      }),
    ),
    status: Type.Optional(VoiceSessionStatus),
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

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function voiceSessionJson(s: VoiceSession) {
  return {
    id: s.id,
    org_id: s.org_id,
    user_id: s.user_id,
    identity: s.identity,
    room_name: s.room_name,
    source: s.source,
    status: s.status,
    token_expires_at: s.token_expires_at.toISOString(),
    started_at: iso(s.started_at),
    ended_at: iso(s.ended_at),
    duration_seconds: s.duration_seconds,
    end_reason: s.end_reason,
    created_at: s.created_at.toISOString(),
  };
}

export const livekitRoutes: FastifyPluginAsyncTypebox<{ livekit: LiveKit }> = async (
  app,
  { livekit },
) => {
  const tags = ['livekit'];
  const tokenDescription =
    'A LiveKit token for a room of your organization. Identity = your user id; grants by role (members join, publish, subscribe and send data; owners, admins and managers also get `roomAdmin` for that room; API keys need scope `livekit:join` and never get `roomAdmin`); metadata = your context JSON (user, org, role, preferences digest, session id). Opens a voice session (`issued`). 503 `livekit_not_configured` when the server has no LiveKit.';

  const issue =
    (source: 'api' | 'auth_token') =>
    async (request: FastifyRequest<{ Body: Static<typeof TokenRequest> | undefined }>) => {
      const t = await livekit.issue(requirePrincipal(request), request.body ?? {}, source);
      return { ...t, expires_at: t.expires_at.toISOString() };
    };
  const tokenSchema = (operationId: string, summary: string) => ({
    operationId,
    tags,
    security: SECURITY,
    summary,
    description: tokenDescription,
    body: optionalBody(TokenRequest),
    response: responses({ 200: TokenOut }, [401, 403, 429]),
  });

  // The body is optional (no field is required): validate {} when there is none.
  const emptyBody = async (request: FastifyRequest) => {
    request.body ??= {};
  };

  app.post('/api/livekit/token', {
    schema: tokenSchema('createLivekitToken', 'Get a LiveKit room token'),
    preValidation: emptyBody,
    handler: issue('api'),
  });

  app.post('/auth/token', {
    schema: tokenSchema(
      'createAuthToken',
      'Get a LiveKit room token (source-document path of POST /api/livekit/token)',
    ),
    preValidation: emptyBody,
    handler: issue('auth_token'),
  });

  app.get(
    '/api/voice-sessions',
    {
      schema: {
        operationId: 'listVoiceSessions',
        tags,
        security: SECURITY,
        summary: 'List voice sessions (newest first, cursor pagination)',
        description:
          'Members see their own sessions (asking for another user is a 403); owners, admins and managers all of the organization. Tokens that expired unused show as `expired`.',
        querystring: ListQuery,
        response: responses({ 200: PageOf(VoiceSessionOut) }, [401, 403]),
      },
    },
    async (request) => {
      const { limit = 20, ...rest } = request.query;
      const result = await livekit.listSessions(requirePrincipal(request), { limit, ...rest });
      return { items: result.items.map(voiceSessionJson), next_cursor: result.next_cursor };
    },
  );
};
