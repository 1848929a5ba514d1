// POST /api/telephony/media-tokens/introspect: is this media token (from a TwiML <Stream>) valid
// for a live call of the caller's org? API keys need the calls:read scope; people the calls:read
// permission.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requirePrincipal } from '../access/principal.ts';
import { responses } from '../http/schemas.ts';
import type { MediaTokenService } from './media-token.service.ts';

const security: Record<string, string[]>[] = [{ bearerAuth: [] }, { cookieAuth: [] }];

const IntrospectBody = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: 4096, description: 'The media token' }) },
  { additionalProperties: false },
);

const IntrospectOut = Type.Object(
  {
    active: Type.Boolean({
      description:
        'true only for a valid media token of your org whose call is still live; otherwise false and nothing else',
    }),
    call_sid: Type.Optional(Type.String({ description: 'The CallSid (the token `sub`)' })),
    org_id: Type.Optional(Type.String({ format: 'uuid' })),
    agent_id: Type.Optional(Type.String({ format: 'uuid' })),
    exp: Type.Optional(Type.Integer({ description: 'Expiry, seconds since the epoch' })),
  },
  { title: 'MediaTokenIntrospection', additionalProperties: false },
);

export const mediaTokenRoutes: FastifyPluginAsyncTypebox<{
  mediaTokens: MediaTokenService;
}> = async (app, { mediaTokens }) => {
  app.post(
    '/api/telephony/media-tokens/introspect',
    {
      schema: {
        operationId: 'introspectMediaToken',
        tags: ['twilio'],
        security,
        summary: 'Introspect a media-stream token',
        description:
          "For agent workers that would rather ask than verify the JWT against /.well-known/jwks.json. A bad signature, an expired token, another org's token, or a call that ended or is unknown all answer 200 {active:false}.",
        body: IntrospectBody,
        response: responses({ 200: IntrospectOut }, [401, 403, 413, 415]),
      },
    },
    async (request) => mediaTokens.introspect(requirePrincipal(request), request.body.token),
  );
};
