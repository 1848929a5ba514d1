// /api/agent/*: the agent workers' API (API keys only). GET /api/agent/context?identity=<user id>
// loads the participant's context; PUT /api/agent/preferences/{identity} remembers one
// preference.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requirePrincipal } from '../access/principal.ts';
import { VOICE_SESSION_END_REASONS } from '../db/schema.ts';
import { requestMeta } from '../http/request-meta.ts';
import { responses, Timestamp } from '../http/schemas.ts';
import { PREFERENCE_RULES, PreferenceMapSchema } from '../users/preference.json.ts';
import { RoleOut } from '../users/user.json.ts';
import {
  type AgentContext,
  type AgentContextService,
  CONTEXT_VOICE_SESSIONS,
} from './agent-context.service.ts';

const Uuid = Type.String({ format: 'uuid' });
const Identity = Type.String({
  format: 'uuid',
  description: "The participant's LiveKit identity: their user id",
});
const Digest = Type.Union([Type.String(), Type.Null()], {
  description:
    'Short digest of the preferences (sha256 over the UTF-8 JSON array `[[key, value], …]` of the entries in code-point order of their keys, base64url, first 16 characters; null when there are none): the same value as `preferences_digest` in the LiveKit token metadata, so a worker can tell whether its cached context is stale',
});

const ContextVoiceSession = Type.Object({
  id: Uuid,
  room_name: Type.String({ description: 'Full LiveKit room name `<org id>__<name>`' }),
  status: Type.Enum(['issued', 'active', 'ended', 'expired', 'revoked']),
  started_at: Type.Union([Timestamp, Type.Null()]),
  ended_at: Type.Union([Timestamp, Type.Null()]),
  duration_seconds: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
  end_reason: Type.Union([Type.Enum([...VOICE_SESSION_END_REASONS]), Type.Null()]),
  created_at: Timestamp,
});

const ContextOut = Type.Object(
  {
    identity: Identity,
    user: Type.Object({
      id: Uuid,
      full_name: Type.Union([Type.String(), Type.Null()]),
      email: Type.Optional(
        Type.String({ description: 'Present only when the key also holds `users:read`' }),
      ),
    }),
    org: Type.Object({ id: Uuid, name: Type.String() }),
    role: RoleOut,
    preferences: PreferenceMapSchema,
    preferences_updated_at: Type.Union([Timestamp, Type.Null()]),
    preferences_digest: Digest,
    voice_sessions: Type.Array(ContextVoiceSession, {
      description: `The participant's latest voice sessions in the org (at most ${CONTEXT_VOICE_SESSIONS}), newest first`,
    }),
  },
  { title: 'AgentContext' },
);

// No maxLength on the key or the value: their limits are the preference rules, checked by the
// service (422 `invalid_preferences`), the same answer at any size as on
// /api/users/me/preferences; the body limit (413) bounds what is read.
const SetBody = Type.Object(
  {
    key: Type.String({ description: 'The preference key' }),
    value: Type.Union([Type.String(), Type.Null()], {
      description: 'The value to remember; null forgets the key',
    }),
  },
  { additionalProperties: false },
);

const PreferencesSetOut = Type.Object(
  {
    identity: Identity,
    preferences: PreferenceMapSchema,
    updated_at: Type.Union([Timestamp, Type.Null()]),
    preferences_digest: Digest,
  },
  { title: 'AgentPreferences' },
);

export function contextJson(identity: string, c: AgentContext) {
  return {
    identity,
    user: {
      id: c.user.id,
      full_name: c.user.full_name,
      ...(c.withEmail ? { email: c.user.email } : {}),
    },
    org: { id: c.org.id, name: c.org.name },
    role: c.role,
    preferences: c.preferences.preferences,
    preferences_updated_at: c.preferences.updated_at?.toISOString() ?? null,
    preferences_digest: c.digest,
    voice_sessions: c.voiceSessions.map((v) => ({
      id: v.id,
      room_name: v.room_name,
      status: v.status,
      started_at: v.started_at?.toISOString() ?? null,
      ended_at: v.ended_at?.toISOString() ?? null,
      duration_seconds: v.duration_seconds,
      end_reason: v.end_reason,
      created_at: v.created_at.toISOString(),
    })),
  };
}

export const agentContextRoutes: FastifyPluginAsyncTypebox<{ agent: AgentContextService }> = async (
  app,
  { agent },
) => {
  const tags = ['agent'];
  const security: Record<string, string[]>[] = [{ bearerAuth: [] }];

  app.get(
    '/api/agent/context',
    {
      schema: {
        operationId: 'getAgentContext',
        tags,
        security,
        summary: "A participant's context, for an agent worker",
        description:
          "For agent workers, with an API key holding `agent:context` (made by an owner, admin or manager): the participant's profile (the email only if the key also holds `users:read`), org, role, preferences and latest voice sessions. The identity must be an active member of the key's org; anyone else is 404. People get 403.",
        querystring: Type.Object({ identity: Identity }, { additionalProperties: false }),
        response: responses({ 200: ContextOut }, [401, 403, 404, 429]),
      },
    },
    async (request) => {
      const identity = request.query.identity;
      return contextJson(identity, await agent.context(requirePrincipal(request), identity));
    },
  );

  app.put(
    '/api/agent/preferences/:identity',
    {
      schema: {
        operationId: 'setAgentPreference',
        tags,
        security,
        summary: 'Remember (or forget) one preference of a participant',
        description: `For an agent worker's "remember this" tool, with an API key holding \`agent:preferences\`: sets one key of the participant's preferences (\`value: null\` removes it); the other keys are kept. ${PREFERENCE_RULES} Audited with the key name, never the value.`,
        params: Type.Object({ identity: Identity }),
        body: SetBody,
        response: responses({ 200: PreferencesSetOut }, [401, 403, 404, 413, 415, 422, 429]),
      },
    },
    async (request) => {
      const { identity } = request.params;
      const out = await agent.setPreference(
        requirePrincipal(request),
        identity,
        request.body,
        requestMeta(request),
      );
      return {
        identity,
        preferences: out.preferences,
        updated_at: out.updated_at?.toISOString() ?? null,
        preferences_digest: out.digest,
      };
    },
  );
};
