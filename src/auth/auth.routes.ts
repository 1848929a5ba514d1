// /api/auth/*, /auth/* (the source documents' paths) and /api/users/me.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { requirePrincipal } from '../access/principal.ts';
import { AppError } from '../http/errors.ts';
import { requestMeta } from '../http/request-meta.ts';
import { MFA_PENDING_ALLOWED } from '../http/route-config.ts';
import { IdParams, NoContent, responses } from '../http/schemas.ts';
import { getMe, updateMe } from '../users/me.ts';
import { MeOut, meJson, OrgOut, orgJson, RoleOut, UserOut, userJson } from '../users/user.json.ts';
import type { AuthContext } from './auth-context.ts';
import { csrfOk } from './authenticate.ts';
import { clearAuthCookies, REFRESH_COOKIE, setAuthCookies } from './cookies.ts';
import { forwardAuth, PERMISSION_NAMES } from './forward-auth.ts';
import {
  type AfterLoginHook,
  type LoginResult,
  type LoginSuccess,
  login,
  type SecondFactorHook,
} from './login.ts';
import { changePassword } from './password-change.ts';
import { refresh } from './refresh.ts';
import { type RegisterResult, register } from './register.ts';
import type { TokenPair } from './session-issue.ts';
import { listSessions, logout, logoutAll, revokeOwnSession, sessionJson } from './sessions.ts';

const Email = Type.String({ minLength: 3, maxLength: 320 });
// The policy (not the schema) judges passwords, so its errors name the rule that failed.
const Password = Type.String({ minLength: 1, maxLength: 1024 });

const TokenFields = {
  access_token: Type.String(),
  refresh_token: Type.String(),
  token_type: Type.Literal('bearer'),
  expires_in: Type.Integer({ description: 'Seconds until the access token expires' }),
};
const SessionTokens = Type.Object({ user: UserOut, org: OrgOut, role: RoleOut, ...TokenFields });
/** Sign-up under REQUIRE_EMAIL_VERIFICATION: the account exists; log in after following the link. */
const PendingVerification = Type.Object({
  user: UserOut,
  org: OrgOut,
  role: RoleOut,
  email_verification_required: Type.Literal(true),
});
const MfaChallenge = Type.Object({
  mfa_required: Type.Literal(true),
  mfa_token: Type.String({
    description: 'Single-use, 5 minutes; only for POST /api/auth/mfa/verify',
  }),
  methods: Type.Array(Type.String()),
});
const Session = Type.Object({
  id: Type.String({ format: 'uuid' }),
  user_agent: Type.Union([Type.String(), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
  last_used_at: Type.String({ format: 'date-time' }),
  expires_at: Type.String({ format: 'date-time' }),
  current: Type.Boolean(),
});
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
// OAuth2 password-grant form (what FastAPI-style clients send): extra fields are allowed there.
const LoginForm = Type.Object(
  {
    username: Email,
    password: Password,
    grant_type: Type.Optional(Type.String({ maxLength: 50 })),
    scope: Type.Optional(Type.String({ maxLength: 500 })),
    client_id: Type.Optional(Type.String({ maxLength: 200 })),
    client_secret: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);

export interface AuthRouteOptions {
  auth: AuthContext;
  /** The MFA step (issue: MFA); absent, every login is one step. */
  secondFactor?: SecondFactorHook;
  afterLogin?: AfterLoginHook;
  /** After sign-up committed (verification and welcome mails); must never throw. */
  afterRegister?: (r: RegisterResult, meta: ReturnType<typeof requestMeta>) => Promise<void>;
}

export function sessionBody(r: {
  user: Parameters<typeof userJson>[0];
  org: Parameters<typeof orgJson>[0];
  role: LoginSuccess['role'];
  tokens: TokenPair;
}) {
  return { user: userJson(r.user), org: orgJson(r.org), role: r.role, ...r.tokens };
}

export const authRoutes: FastifyPluginAsyncTypebox<AuthRouteOptions> = async (app, opts) => {
  const { auth } = opts;
  const tags = ['auth'];
  const security: Record<string, string[]>[] = [{ bearerAuth: [] }, { cookieAuth: [] }];
  const cookieSettings = {
    secure: auth.config.auth.secureCookies,
    accessTtlSeconds: auth.config.auth.accessTokenTtlSeconds,
    refreshTtlSeconds: auth.config.auth.refreshIdleTtlSeconds,
  };
  const setCookies = (reply: FastifyReply, t: TokenPair) =>
    setAuthCookies(reply, cookieSettings, {
      accessToken: t.access_token,
      refreshToken: t.refresh_token,
    });

  async function doLogin(
    request: FastifyRequest,
    email: string,
    password: string,
  ): Promise<LoginResult> {
    return login(auth, { email, password }, requestMeta(request), {
      secondFactor: opts.secondFactor,
      afterLogin: opts.afterLogin,
    });
  }

  async function loginBody(r: LoginSuccess) {
    const { org } = await getMe(auth.database, {
      userId: r.user.id,
      orgId: r.orgId,
      role: r.role,
      superuser: r.user.is_superuser,
    });
    return sessionBody({ user: r.user, org, role: r.role, tokens: r.tokens });
  }

  app.post(
    '/api/auth/register',
    {
      config: { ...MFA_PENDING_ALLOWED, crossSite: 'refuse' },
      schema: {
        tags,
        summary: 'Sign up: a user and their company (or personal workspace)',
        body: Type.Object(
          {
            email: Email,
            password: Password,
            full_name: Type.Optional(Type.String({ maxLength: 200 })),
            company_name: Type.Optional(Type.String({ maxLength: 200 })),
          },
          { additionalProperties: false },
        ),
        response: responses({ 201: SessionTokens, 202: PendingVerification }, [403, 409, 429]),
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
      setCookies(reply, r.tokens);
      return reply.code(201).send(sessionBody({ ...r, tokens: r.tokens }));
    },
  );

  app.post(
    '/api/auth/login',
    {
      config: { ...MFA_PENDING_ALLOWED, crossSite: 'refuse' },
      schema: {
        tags,
        summary: 'Log in with email and password',
        description:
          'Answers tokens (and sets cookies), or — when the user has MFA — a challenge to complete at POST /api/auth/mfa/verify.',
        body: Type.Object({ email: Email, password: Password }, { additionalProperties: false }),
        response: responses({ 200: Type.Union([SessionTokens, MfaChallenge]) }, [401, 403, 429]),
      },
    },
    async (request, reply) => {
      const r = await doLogin(request, request.body.email, request.body.password);
      if (r.kind === 'mfa')
        return { mfa_required: true as const, mfa_token: r.mfa_token, methods: r.methods };
      setCookies(reply, r.tokens);
      return loginBody(r);
    },
  );

  app.post(
    '/api/auth/refresh',
    {
      config: { ...MFA_PENDING_ALLOWED, crossSite: 'refuse' },
      schema: {
        tags,
        summary: 'Rotate the refresh token: a new pair, the old refresh token is dead',
        description:
          'The refresh token comes from the body or the sb_refresh cookie (then X-CSRF-Token is required). A replayed refresh token revokes its whole session.',
        body: Type.Optional(
          Type.Object(
            { refresh_token: Type.Optional(Type.String({ maxLength: 512 })) },
            { additionalProperties: false },
          ),
        ),
        response: responses({ 200: Type.Object(TokenFields) }, [401, 403, 409, 429]),
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
        setCookies(reply, r.tokens);
        return r.tokens;
      } catch (err) {
        if (
          err instanceof AppError &&
          err.code !== 'refresh_in_progress' &&
          err.code !== 'rate_limited'
        ) {
          clearAuthCookies(reply, cookieSettings);
        }
        throw err;
      }
    },
  );

  const logoutSchema = (summary: string) => ({
    tags,
    security,
    summary,
    response: responses({ 204: NoContent }, [401, 403]),
  });
  const logoutHandler = (all: boolean) => async (request: FastifyRequest, reply: FastifyReply) => {
    const p = requirePrincipal(request);
    await (all ? logoutAll : logout)(auth, p, requestMeta(request));
    clearAuthCookies(reply, cookieSettings);
    return reply.code(204).send(null);
  };
  app.post(
    '/api/auth/logout',
    { schema: logoutSchema('End the current session'), config: MFA_PENDING_ALLOWED },
    logoutHandler(false),
  );
  app.post(
    '/auth/logout',
    {
      schema: logoutSchema('End the current session (compatibility path)'),
      config: MFA_PENDING_ALLOWED,
    },
    logoutHandler(false),
  );
  app.post(
    '/api/auth/logout-all',
    { schema: logoutSchema("End all of the user's sessions"), config: MFA_PENDING_ALLOWED },
    logoutHandler(true),
  );

  app.get(
    '/api/auth/sessions',
    {
      schema: {
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

  app.delete(
    '/api/auth/sessions/:id',
    {
      schema: {
        tags,
        security,
        summary: 'Revoke one of your sessions',
        params: IdParams,
        response: responses({ 204: NoContent }, [401, 403, 404]),
      },
    },
    async (request, reply) => {
      await revokeOwnSession(
        auth,
        requirePrincipal(request),
        request.params.id,
        requestMeta(request),
      );
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/auth/password/change',
    {
      schema: {
        tags,
        security,
        summary: 'Change your password; every other session ends',
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

  const meHandler = async (request: FastifyRequest) => {
    const p = requirePrincipal(request);
    const { user, org } = await getMe(auth.database, p);
    return meJson(user, org, p.role, p.amr ?? [], p.mfaPending === true);
  };
  const meSchema = (summary: string) => ({
    tags,
    security,
    summary,
    response: responses({ 200: MeOut }, [401]),
  });
  app.get(
    '/auth/me',
    { schema: meSchema('The current user, org and role'), config: MFA_PENDING_ALLOWED },
    meHandler,
  );
  app.get(
    '/api/users/me',
    { schema: meSchema('The current user, org and role'), config: MFA_PENDING_ALLOWED },
    meHandler,
  );

  app.patch(
    '/api/users/me',
    {
      schema: {
        tags,
        security,
        summary: 'Update your profile (profile fields only)',
        body: Type.Object(
          { full_name: Type.Union([Type.String({ maxLength: 200 }), Type.Null()]) },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: responses({ 200: MeOut }, [401, 403]),
      },
    },
    async (request) => {
      const p = requirePrincipal(request);
      const full = request.body.full_name?.trim() || null;
      const { user, org } = await updateMe(auth.database, p, { full_name: full });
      return meJson(user, org, p.role, p.amr ?? [], p.mfaPending === true);
    },
  );

  app.get(
    '/api/auth/verify',
    {
      schema: {
        tags,
        security,
        summary: 'Forward-auth for reverse proxies and agent workers',
        description:
          "200 with X-Switchboard-User, X-Switchboard-Org, X-Switchboard-Role, X-Switchboard-Credential (session or api_key), X-Switchboard-Scopes (an API key's scopes, space-separated; empty for a session) and, for a session, X-Switchboard-Session headers (and the same JSON) when the bearer token, cookie or API key is valid; 401 otherwise. With `?permission=` (repeatable) it answers 403 unless the credential holds every permission named: an API key its scopes intersected with its creator's role, a session its role's permissions. Unknown permission names are a 400. No database round trip for tokens.",
        querystring: VerifyQuery,
        response: responses({ 200: VerifyOut }, [401, 403]),
      },
      // Answered to reverse proxies on every proxied request, never rendered by a browser:
      // browser security headers would only add bytes to the hottest path.
      helmet: false,
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

  // The source documents' form logins (OAuth2 password grant shape).
  app.post(
    '/auth/jwt/login',
    {
      config: { ...MFA_PENDING_ALLOWED, crossSite: 'refuse' },
      schema: {
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
          [401, 403, 429],
        ),
      },
    },
    async (request) => {
      const r = await doLogin(request, request.body.username, request.body.password);
      if (r.kind === 'mfa')
        return { mfa_required: true as const, mfa_token: r.mfa_token, methods: r.methods };
      return { access_token: r.tokens.access_token, token_type: 'bearer' as const };
    },
  );

  app.post(
    '/auth/cookie/login',
    {
      config: { ...MFA_PENDING_ALLOWED, crossSite: 'refuse' },
      schema: {
        tags,
        summary: 'Form login setting session cookies (compatibility path)',
        consumes: ['application/x-www-form-urlencoded'],
        body: LoginForm,
        response: responses({ 204: NoContent, 200: MfaChallenge }, [401, 403, 429]),
      },
    },
    async (request, reply) => {
      const r = await doLogin(request, request.body.username, request.body.password);
      if (r.kind === 'mfa') {
        return reply
          .code(200)
          .send({ mfa_required: true as const, mfa_token: r.mfa_token, methods: r.methods });
      }
      setCookies(reply, r.tokens);
      return reply.code(204).send(null);
    },
  );
};
