// /api/api-keys: create (the key is in this response only), list, revoke. Owners and admins.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { API_KEY_SCOPES } from '../access/permissions.ts';
import { requirePrincipal } from '../access/principal.ts';
import type { AuthContext } from '../auth/auth-context.ts';
import type { ApiKey } from '../db/schema.ts';
import { deleteByIdRoute } from '../http/by-id-routes.ts';
import { PageOf, PageQuery } from '../http/pagination.ts';
import { requestMeta } from '../http/request-meta.ts';
import { readableName, responses, Timestamp } from '../http/schemas.ts';
import { apiKeyStatus, createApiKey, listApiKeys, revokeApiKey } from './api-key.service.ts';

const Scope = Type.Union(API_KEY_SCOPES.map((s) => Type.Literal(s)));
const NullableTime = Type.Union([Timestamp, Type.Null()]);

const ApiKeyOut = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    name: Type.String(),
    prefix: Type.String({ description: 'Public part of the key (sb_<prefix>_…), to recognise it' }),
    scopes: Type.Array(Type.String()),
    status: Type.Union([Type.Literal('active'), Type.Literal('expired'), Type.Literal('revoked')]),
    created_by: Type.String({ format: 'uuid' }),
    created_at: Timestamp,
    expires_at: NullableTime,
    last_used_at: Type.Union([Timestamp, Type.Null()], {
      description: 'Recorded at most once a minute',
    }),
    revoked_at: NullableTime,
  },
  { title: 'ApiKey' },
);

const CreatedApiKey = Type.Object({
  ...ApiKeyOut.properties,
  key: Type.String({ description: 'The key itself: shown only in this response, never again' }),
});

function apiKeyJson(k: ApiKey) {
  return {
    id: k.id,
    name: k.name,
    prefix: k.prefix,
    scopes: k.scopes,
    status: apiKeyStatus(k),
    created_by: k.created_by,
    created_at: k.created_at.toISOString(),
    expires_at: k.expires_at?.toISOString() ?? null,
    last_used_at: k.last_used_at?.toISOString() ?? null,
    revoked_at: k.revoked_at?.toISOString() ?? null,
  };
}

export const apiKeyRoutes: FastifyPluginAsyncTypebox<{
  auth: AuthContext;
}> = async (app, { auth }) => {
  const tags = ['api-keys'];
  const security: Record<string, string[]>[] = [{ bearerAuth: [] }, { cookieAuth: [] }];

  app.post(
    '/api/api-keys',
    {
      schema: {
        operationId: 'createApiKey',
        tags,
        security,
        summary: 'Create an API key (owners and admins); the key is shown only here',
        description: `Use it as \`Authorization: Bearer sb_…\`. It acts for this org with your role in it (as it is at each use) narrowed to its scopes, and stops working when revoked or expired; it is revoked for good when you leave the org or your account is disabled. Scopes: ${API_KEY_SCOPES.join(', ')}.`,
        body: Type.Object(
          {
            name: readableName(100),
            scopes: Type.Array(Scope, { minItems: 1, maxItems: API_KEY_SCOPES.length }),
            expires_at: Type.Optional(Type.String({ format: 'date-time' })),
          },
          { additionalProperties: false },
        ),
        response: responses({ 201: CreatedApiKey }, [401, 403]),
      },
    },
    async (request, reply) => {
      const r = await createApiKey(
        auth,
        requirePrincipal(request),
        request.body,
        requestMeta(request),
      );
      reply.header('cache-control', 'no-store');
      return reply.code(201).send({ ...apiKeyJson(r.row), key: r.key });
    },
  );

  app.get(
    '/api/api-keys',
    {
      schema: {
        operationId: 'listApiKeys',
        tags,
        security,
        summary: "The org's API keys, newest first (never the secret)",
        querystring: Type.Object({ ...PageQuery }, { additionalProperties: false }),
        response: responses({ 200: PageOf(ApiKeyOut) }, [401, 403]),
      },
    },
    async (request) => {
      const { limit = 20, cursor } = request.query;
      const r = await listApiKeys(auth, requirePrincipal(request), { limit, cursor });
      return { items: r.items.map(apiKeyJson), next_cursor: r.next_cursor };
    },
  );

  deleteByIdRoute(
    app,
    '/api/api-keys/:id',
    {
      operationId: 'revokeApiKey',
      tags,
      security,
      summary: 'Revoke an API key: it stops working at once, on every instance',
      description:
        'Room participants that joined with LiveKit tokens the key minted are removed and their voice sessions close as `revoked`.',
    },
    async (request, id) => {
      const keyId = id.toLowerCase();
      await revokeApiKey(auth, requirePrincipal(request), keyId, requestMeta(request));
      // Committed: what the key opened that outlasts a request (device sockets, LiveKit
      // participants of the tokens it minted) hangs up now on this instance.
      auth.apiKeyRevocations.add([keyId]);
    },
  );
};
