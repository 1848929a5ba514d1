// The source documents' POST /api/create_user: an owner or admin adds a person to the current
// org, in their shape (`display_name`, no role: a member). It is POST /api/orgs/current/users
// under another name — the same service, the same rules (no admin-chosen password: a `password`
// field is refused, the person sets theirs through the mailed link) and the same 202 answer.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requirePrincipal } from '../access/principal.ts';
import type { AuthContext } from '../auth/auth-context.ts';
import { requestMeta } from '../http/request-meta.ts';
import { plainText, responses } from '../http/schemas.ts';
import { RoleOut } from '../users/user.json.ts';
import { createOrgUser } from './org-users.ts';

export const orgCompatRoutes: FastifyPluginAsyncTypebox<{ auth: AuthContext }> = async (
  app,
  { auth },
) => {
  app.post(
    '/api/create_user',
    {
      schema: {
        hide: true,
        tags: ['orgs'],
        security: [{ bearerAuth: [] }, { cookieAuth: [] }],
        summary:
          'Add a person to the current org (compatibility path of POST /api/orgs/current/users)',
        body: Type.Object(
          {
            email: Type.String({ minLength: 3, maxLength: 320 }),
            display_name: Type.Optional(plainText(200)),
            role: Type.Optional(RoleOut),
          },
          { additionalProperties: false },
        ),
        response: responses(
          { 202: Type.Object({ email: Type.String(), role: RoleOut }) },
          [401, 403, 409, 429],
        ),
      },
    },
    async (request, reply) => {
      const { email, display_name, role = 'member' } = request.body;
      const r = await createOrgUser(
        auth,
        requirePrincipal(request),
        { email, full_name: display_name, role },
        requestMeta(request),
      );
      return reply.code(202).send(r);
    },
  );
};
