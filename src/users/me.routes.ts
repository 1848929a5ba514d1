// /api/users/me: the caller's own account, and the profile fields they may change. src/routes.ts
// mounts it again at the source documents' /auth/me, which answers the same GET and nothing else.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requirePrincipal } from '../access/principal.ts';
import type { Database } from '../db/database.ts';
import { MFA_PENDING_ALLOWED } from '../http/route-config.ts';
import { plainText, responses, visibleOrNone } from '../http/schemas.ts';
import { getMe, updateMe } from './me.ts';
import { MeOut, meJson } from './user.json.ts';

export const meRoutes: FastifyPluginAsyncTypebox<{
  database: Database;
  path?: '/api/users/me' | '/auth/me';
}> = async (app, { database, path = '/api/users/me' }) => {
  const tags = ['auth'];
  const security: Record<string, string[]>[] = [{ bearerAuth: [] }, { cookieAuth: [] }];

  app.get(
    path,
    {
      schema: {
        // Mounted twice (see src/routes.ts): each path has its own id in the OpenAPI document.
        operationId: path === '/auth/me' ? 'getCurrentUserAlias' : 'getCurrentUser',
        tags,
        security,
        summary: 'The current user, org and role',
        response: responses({ 200: MeOut }, [401]),
      },
      config: MFA_PENDING_ALLOWED,
    },
    async (request) => {
      const p = requirePrincipal(request);
      return meJson(await getMe(database, p), p);
    },
  );

  if (path !== '/api/users/me') return;
  app.patch(
    path,
    {
      schema: {
        operationId: 'updateCurrentUser',
        tags,
        security,
        summary: 'Update your profile (profile fields only)',
        body: Type.Object(
          { full_name: Type.Union([plainText(200), Type.Null()]) },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: responses({ 200: MeOut }, [401, 403]),
      },
    },
    async (request) => {
      const p = requirePrincipal(request);
      const full = visibleOrNone(request.body.full_name) ?? null;
      return meJson(await updateMe(database, p, { full_name: full }), p);
    },
  );
};
