// The API's own description: the OpenAPI document generated from the routes' schemas
// (/openapi.json), its browsable UI (/docs) and the meaning of every problem `code`
// (/problems/:code). Registered before the routes: @fastify/swagger collects them as they are added.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import fp from 'fastify-plugin';
import { Type } from 'typebox';
import { ERRORS, type ErrorCode } from '../http/errors.ts';
import { sendProblem } from '../http/problem.ts';
import { allowWhileMfaPending, MFA_PENDING_ALLOWED } from '../http/route-config.ts';

const plugin: FastifyPluginAsyncTypebox = async (app) => {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Switchboard API',
        version: '0.1.0',
        description:
          'Identity and control plane for voice-AI agent platforms. Errors are RFC 9457 problem documents (application/problem+json) with a stable `code`.',
      },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          cookieAuth: { type: 'apiKey', in: 'cookie', name: 'sb_access' },
        },
      },
    },
    refResolver: {
      buildLocalReference: (json, _base, _frag, i) => (json.$id as string) ?? `def-${i}`,
    },
  });
  // The docs carry no tenant data: open to an enrolment-only session like the other public pages.
  await app.register(async (docs) => {
    allowWhileMfaPending(docs);
    await docs.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  });

  app.get('/openapi.json', { schema: { hide: true }, config: MFA_PENDING_ALLOWED }, async () =>
    app.swagger(),
  );

  app.get(
    '/problems/:code',
    {
      config: MFA_PENDING_ALLOWED,
      schema: {
        tags: ['meta'],
        summary: 'What an error code means',
        params: Type.Object({ code: Type.String({ maxLength: 64 }) }),
        response: {
          200: Type.Object({ code: Type.String(), status: Type.Integer(), title: Type.String() }),
          404: Type.Ref('Problem'),
        },
      },
    },
    async (request, reply) => {
      const code = request.params.code as ErrorCode;
      if (!Object.hasOwn(ERRORS, code)) {
        return sendProblem(request, reply, 'not_found', 'No such error code');
      }
      return { code, ...ERRORS[code] };
    },
  );
};

// Not encapsulated: swagger must see every route of the app, and app.swagger() is the app's.
export const apiDocs = fp(plugin, { name: 'api-docs' });
