// /api/auth/logout, /logout-all and /sessions: the caller's own sessions (devices) and ending them.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requirePrincipal } from '../access/principal.ts';
import { deleteByIdRoute } from '../http/by-id-routes.ts';
import { requestMeta } from '../http/request-meta.ts';
import { MFA_PENDING_ALLOWED } from '../http/route-config.ts';
import { NoContent, responses, withHeaders } from '../http/schemas.ts';
import type { AuthContext } from './auth-context.ts';
import { clearedCookiesHeader } from './cookies.ts';
import { sessionResponse } from './session-response.ts';
import { listSessions, revokeOwnSession, sessionJson } from './sessions.ts';

const Session = Type.Object({
  id: Type.String({ format: 'uuid' }),
  user_agent: Type.Union([Type.String(), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
  last_used_at: Type.String({ format: 'date-time' }),
  expires_at: Type.String({ format: 'date-time' }),
  current: Type.Boolean(),
});

export const sessionRoutes: FastifyPluginAsyncTypebox<{ auth: AuthContext }> = async (
  app,
  { auth },
) => {
  const tags = ['auth'];
  const security: Record<string, string[]>[] = [{ bearerAuth: [] }, { cookieAuth: [] }];
  const answer = sessionResponse(auth);
  const logoutSchema = (operationId: string, summary: string) => ({
    operationId,
    tags,
    security,
    summary,
    response: responses({ 204: withHeaders(NoContent, clearedCookiesHeader()) }, [401, 403]),
  });

  app.post(
    '/api/auth/logout',
    { schema: logoutSchema('logOut', 'End the current session'), config: MFA_PENDING_ALLOWED },
    (request, reply) => answer.endSession(request, reply, false),
  );
  app.post(
    '/api/auth/logout-all',
    {
      schema: logoutSchema('logOutEverywhere', "End all of the user's sessions"),
      config: MFA_PENDING_ALLOWED,
    },
    (request, reply) => answer.endSession(request, reply, true),
  );

  app.get(
    '/api/auth/sessions',
    {
      schema: {
        operationId: 'listSessions',
        tags,
        security,
        summary: "The user's live sessions (devices)",
        response: responses({ 200: Type.Object({ items: Type.Array(Session) }) }, [401]),
      },
    },
    async (request) => {
      const p = requirePrincipal(request);
      const rows = await listSessions(auth, p);
      return { items: rows.map((s) => sessionJson(s, p.sessionId)) };
    },
  );

  deleteByIdRoute(
    app,
    '/api/auth/sessions/:id',
    { operationId: 'revokeSession', tags, security, summary: 'Revoke one of your sessions' },
    async (request, id) =>
      revokeOwnSession(auth, requirePrincipal(request), id, requestMeta(request)),
  );
};
