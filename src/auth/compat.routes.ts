// The source documents' /auth/* paths of this capability, kept so clients written against them
// keep working: form logins in the OAuth2 password-grant shape, and /auth/logout. Each answers as
// its /api counterpart does (same service, same session answer); only the input shape differs.
// (/auth/me is users/me.routes.ts mounted a second time, see src/routes.ts.)
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { type Static, Type } from 'typebox';
import { requestMeta } from '../http/request-meta.ts';
import { MFA_PENDING_ALLOWED } from '../http/route-config.ts';
import { NoContent, responses, withHeaders } from '../http/schemas.ts';
import type { AuthContext } from './auth-context.ts';
import { clearedCookiesHeader, sessionCookiesHeader } from './cookies.ts';
import { type LoginHooks, login } from './login.ts';
import { MfaChallenge, mfaChallengeBody, sessionResponse } from './session-response.ts';

// OAuth2 password-grant form (what FastAPI-style clients send): extra fields are allowed there.
const LoginForm = Type.Object(
  {
    username: Type.String({ minLength: 3, maxLength: 320 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
    grant_type: Type.Optional(Type.String({ maxLength: 50 })),
    scope: Type.Optional(Type.String({ maxLength: 500 })),
    client_id: Type.Optional(Type.String({ maxLength: 200 })),
    client_secret: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);

export const authCompatRoutes: FastifyPluginAsyncTypebox<
  LoginHooks & { auth: AuthContext }
> = async (app, opts) => {
  const { auth } = opts;
  const tags = ['auth'];
  const security: Record<string, string[]>[] = [{ bearerAuth: [] }, { cookieAuth: [] }];
  const answer = sessionResponse(auth);
  const formLogin = (request: FastifyRequest, form: Static<typeof LoginForm>) =>
    login(auth, { email: form.username, password: form.password }, requestMeta(request), opts);

  app.post(
    '/auth/logout',
    {
      schema: {
        operationId: 'logOutAlias',
        tags,
        security,
        summary: 'End the current session (compatibility path)',
        response: responses({ 204: withHeaders(NoContent, clearedCookiesHeader()) }, [401, 403]),
      },
      config: MFA_PENDING_ALLOWED,
    },
    (request, reply) => answer.endSession(request, reply, false),
  );

  app.post(
    '/auth/jwt/login',
    {
      config: { ...MFA_PENDING_ALLOWED, crossSite: 'refuse' },
      schema: {
        operationId: 'logInWithForm',
        security: [],
        tags,
        summary: 'Form login returning a bearer token (compatibility path)',
        consumes: ['application/x-www-form-urlencoded'],
        body: LoginForm,
        response: responses(
          {
            200: Type.Union([
              Type.Object({ access_token: Type.String(), token_type: Type.Literal('bearer') }),
              MfaChallenge,
            ]),
          },
          [401, 403, 409, 429],
        ),
      },
    },
    async (request) => {
      const r = await formLogin(request, request.body);
      if (r.kind === 'mfa') return mfaChallengeBody(r);
      return { access_token: r.tokens.access_token, token_type: 'bearer' as const };
    },
  );

  app.post(
    '/auth/cookie/login',
    {
      config: { ...MFA_PENDING_ALLOWED, crossSite: 'refuse' },
      schema: {
        operationId: 'logInWithFormCookie',
        security: [],
        tags,
        summary: 'Form login setting session cookies (compatibility path)',
        consumes: ['application/x-www-form-urlencoded'],
        body: LoginForm,
        response: responses(
          { 204: withHeaders(NoContent, sessionCookiesHeader()), 200: MfaChallenge },
          [401, 403, 409, 429],
        ),
      },
    },
    async (request, reply) => {
      const r = await formLogin(request, request.body);
      if (r.kind === 'mfa') return reply.code(200).send(mfaChallengeBody(r));
      answer.setCookies(reply, r.tokens);
      return reply.code(204).send(null);
    },
  );
};
