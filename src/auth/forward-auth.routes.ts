// GET /api/auth/verify: forward-auth for reverse proxies and agent workers. Answered from the
// verified token alone (no database round trip), so it stays on the hot path's budget.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requirePrincipal } from '../access/principal.ts';
import { FORWARD_AUTH } from '../http/route-config.ts';
import { responses } from '../http/schemas.ts';
import { RoleOut } from '../users/user.json.ts';
import { forwardAuth, PERMISSION_NAMES } from './forward-auth.ts';

const VerifyOut = Type.Object({
  user_id: Type.String(),
  org_id: Type.String(),
  role: RoleOut,
  session_id: Type.Union([Type.String(), Type.Null()]),
  superuser: Type.Boolean(),
  credential: Type.Union([Type.Literal('session'), Type.Literal('api_key')]),
  scopes: Type.Union([Type.Array(Type.String()), Type.Null()], {
    description: "An API key's scopes; null for a session (its role governs)",
  }),
});
// Unknown parameters are refused too: a misspelt `?permissions=` must not pass silently.
const VerifyQuery = Type.Object(
  {
    permission: Type.Optional(
      Type.Array(Type.Union(PERMISSION_NAMES.map((p) => Type.Literal(p))), {
        maxItems: 16,
        description: 'Repeatable: 403 unless the credential holds every one',
      }),
    ),
  },
  { additionalProperties: false },
);

export const forwardAuthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/api/auth/verify',
    {
      schema: {
        operationId: 'verifyForwardAuth',
        tags: ['auth'],
        security: [{ bearerAuth: [] }, { cookieAuth: [] }],
        summary: 'Forward-auth for reverse proxies and agent workers',
        description:
          "200 with X-Switchboard-User, X-Switchboard-Org, X-Switchboard-Role, X-Switchboard-Credential (session or api_key), X-Switchboard-Scopes (an API key's scopes, space-separated; empty for a session) and, for a session, X-Switchboard-Session headers (and the same JSON) when the bearer token, cookie or API key is valid; 401 otherwise. With `?permission=` (repeatable) it answers 403 unless the credential holds every permission named: an API key its scopes intersected with its creator's role, a session its role's permissions. Unknown permission names are a 400. An X-Switchboard-Org the caller may not use (another org, not an org id, no such org) is a 403 here, not a 400 or 404: a proxy relays only 2xx, 401 and 403. No database round trip for tokens.",
        querystring: VerifyQuery,
        response: responses({ 200: VerifyOut }, [401, 403]),
      },
      // Answered to reverse proxies on every proxied request, never rendered by a browser:
      // browser security headers would only add bytes to the hottest path.
      // Refusals of the proxy's client's input are 403s: see FORWARD_AUTH.
      config: { securityHeaders: false, ...FORWARD_AUTH },
    },
    async (request, reply) => {
      const p = requirePrincipal(request);
      const answer = forwardAuth(p, request.query.permission);
      reply.header('cache-control', 'no-store');
      reply.header('x-switchboard-user', p.userId);
      reply.header('x-switchboard-org', p.orgId);
      reply.header('x-switchboard-role', p.role);
      reply.header('x-switchboard-credential', answer.credential);
      reply.header('x-switchboard-scopes', answer.scopes?.join(' ') ?? '');
      if (p.sessionId) reply.header('x-switchboard-session', p.sessionId);
      return {
        user_id: p.userId,
        org_id: p.orgId,
        role: p.role,
        session_id: p.sessionId ?? null,
        superuser: p.superuser,
        credential: answer.credential,
        scopes: answer.scopes ? [...answer.scopes] : null,
      };
    },
  );
};
