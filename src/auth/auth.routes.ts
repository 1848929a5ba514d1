// /api/auth/register, /login, /refresh and /password/change: the routes that open, renew or
// re-key a session. Their answers are built by session-response.ts.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requirePrincipal } from '../access/principal.ts';
import { AppError } from '../http/errors.ts';
import { requestMeta } from '../http/request-meta.ts';
import { MFA_PENDING_ALLOWED } from '../http/route-config.ts';
import { NoContent, optionalBody, plainText, responses, withHeaders } from '../http/schemas.ts';
import { OrgOut, orgJson, RoleOut, UserOut, userJson } from '../users/user.json.ts';
import type { AuthContext } from './auth-context.ts';
import { csrfOk } from './authenticate.ts';
import { clearedCookiesHeader, REFRESH_COOKIE, sessionCookiesHeader } from './cookies.ts';
import { type LoginHooks, login } from './login.ts';
import { changePassword } from './password-change.ts';
import { refresh } from './refresh.ts';
import { type RegisterResult, register } from './register.ts';
import {
  MfaChallenge,
  mfaChallengeBody,
  type SessionExtras,
  SessionTokensWithRoom,
  sessionBody,
  sessionResponse,
  TokenFields,
} from './session-response.ts';

const Email = Type.String({ minLength: 3, maxLength: 320 });
// The policy (not the schema) judges passwords, so its errors name the rule that failed.
const Password = Type.String({ minLength: 1, maxLength: 1024 });

/** Sign-up under REQUIRE_EMAIL_VERIFICATION: the account exists; log in after following the link. */
const PendingVerification = Type.Object({
  user: UserOut,
  org: OrgOut,
  role: RoleOut,
  email_verification_required: Type.Literal(true),
});

export interface AuthRouteOptions extends LoginHooks {
  auth: AuthContext;
  /** After sign-up committed (verification and welcome mails); must never throw. */
  afterRegister?: (r: RegisterResult, meta: ReturnType<typeof requestMeta>) => Promise<void>;
  /** Extra answer fields for a new session: LiveKit's room token when it is configured. */
  sessionExtras?: SessionExtras;
}

export const authRoutes: FastifyPluginAsyncTypebox<AuthRouteOptions> = async (app, opts) => {
  const { auth } = opts;
  const tags = ['auth'];
  const security: Record<string, string[]>[] = [{ bearerAuth: [] }, { cookieAuth: [] }];
  const answer = sessionResponse(auth);

  app.post(
    '/api/auth/register',
    {
      config: { ...MFA_PENDING_ALLOWED, crossSite: 'refuse' },
      schema: {
        operationId: 'registerAccount',
        security: [],
        tags,
        summary: 'Sign up: a user and their company (or personal workspace)',
        body: Type.Object(
          {
            email: Email,
            password: Password,
            full_name: Type.Optional(plainText(200)),
            company_name: Type.Optional(plainText(200)),
          },
          { additionalProperties: false },
        ),
        response: responses(
          {
            201: withHeaders(SessionTokensWithRoom, sessionCookiesHeader()),
            202: PendingVerification,
          },
          [403, 409, 429],
        ),
      },
    },
    async (request, reply) => {
      const meta = requestMeta(request);
      const r = await register(auth, request.body, meta);
      await opts.afterRegister?.(r, meta);
      if (!r.tokens) {
        return reply.code(202).send({
          user: userJson(r.user),
          org: orgJson(r.org),
          role: r.role,
          email_verification_required: true as const,
        });
      }
      answer.setCookies(reply, r.tokens);
      const extras =
        r.sessionId === null
          ? {}
          : await opts.sessionExtras?.(
              {
                userId: r.user.id,
                orgId: r.org.id,
                role: r.role,
                superuser: r.user.is_superuser,
                sessionId: r.sessionId,
              },
              'register',
            );
      return reply.code(201).send({ ...sessionBody({ ...r, tokens: r.tokens }), ...extras });
    },
  );

  app.post(
    '/api/auth/login',
    {
      config: { ...MFA_PENDING_ALLOWED, crossSite: 'refuse' },
      schema: {
        operationId: 'logIn',
        security: [],
        tags,
        summary: 'Log in with email and password',
        description:
          'Answers tokens (and sets cookies), or — when the user has MFA — a challenge to complete at POST /api/auth/mfa/verify.',
        body: Type.Object({ email: Email, password: Password }, { additionalProperties: false }),
        response: responses(
          {
            200: withHeaders(
              Type.Union([SessionTokensWithRoom, MfaChallenge]),
              sessionCookiesHeader('Not with the MFA challenge.'),
            ),
          },
          [401, 403, 409, 429],
        ),
      },
    },
    async (request, reply) => {
      const r = await login(auth, request.body, requestMeta(request), opts);
      if (r.kind === 'mfa') return mfaChallengeBody(r);
      answer.setCookies(reply, r.tokens);
      const extras = await opts.sessionExtras?.(
        {
          userId: r.user.id,
          orgId: r.orgId,
          role: r.role,
          superuser: r.user.is_superuser,
          sessionId: r.sessionId,
          mfaPending: r.mfaPending,
        },
        'login',
      );
      return { ...(await answer.loginBody(r)), ...extras };
    },
  );

  app.post(
    '/api/auth/refresh',
    {
      config: { ...MFA_PENDING_ALLOWED, crossSite: 'refuse' },
      schema: {
        operationId: 'refreshSession',
        security: [],
        tags,
        summary: 'Rotate the refresh token: a new pair, the old refresh token is dead',
        description:
          'The refresh token comes from the body or the sb_refresh cookie (then X-CSRF-Token is required). A replayed refresh token revokes its whole session.',
        body: optionalBody(
          Type.Object(
            { refresh_token: Type.Optional(Type.String({ maxLength: 512 })) },
            { additionalProperties: false },
          ),
        ),
        response: {
          ...responses(
            { 200: withHeaders(Type.Object(TokenFields), sessionCookiesHeader()) },
            [401, 403, 409, 429],
          ),
          401: withHeaders(
            Type.Ref('Problem'),
            clearedCookiesHeader(
              'When the refresh token presented is refused (unknown, expired or replayed); not when none was presented.',
            ),
          ),
        },
      },
      // The body is optional (browsers send only the cookie): validate {} when there is none.
      preValidation: async (request) => {
        request.body ??= {};
      },
    },
    async (request, reply) => {
      let token = request.body?.refresh_token;
      if (!token) {
        token = request.cookies[REFRESH_COOKIE];
        // A cookie-borne credential on a write: the page must prove it can read sb_csrf.
        if (token && !csrfOk(request)) throw new AppError('csrf_failed');
      }
      if (!token) throw new AppError('invalid_refresh_token', 'No refresh token was presented');
      try {
        const r = await refresh(auth, token, requestMeta(request));
        answer.setCookies(reply, r.tokens);
        return r.tokens;
      } catch (err) {
        if (
          err instanceof AppError &&
          err.code !== 'refresh_in_progress' &&
          err.code !== 'rate_limited'
        ) {
          answer.clearCookies(reply);
        }
        throw err;
      }
    },
  );

  app.post(
    '/api/auth/password/change',
    {
      schema: {
        operationId: 'changePassword',
        tags,
        security,
        summary: 'Change your password; every other session ends',
        description:
          'Every other session of yours ends, and every password-reset or set-password link still outstanding stops working.',
        body: Type.Object(
          { current_password: Password, new_password: Password },
          { additionalProperties: false },
        ),
        response: responses({ 204: NoContent }, [401, 403, 429]),
      },
    },
    async (request, reply) => {
      await changePassword(auth, requirePrincipal(request), request.body, requestMeta(request));
      return reply.code(204).send(null);
    },
  );
};
