// The answer that opens or renews a session, one shape wherever one is issued: sign-up, login
// (and its source-document form), refresh, the MFA step, switch-org and invitation acceptance.
// The tokens go into the body and, for browsers, into the HttpOnly cookies of cookies.ts; a login
// that still needs its second factor answers the MFA challenge instead, never a token.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { decodeJwt } from 'jose';
import { Type } from 'typebox';
import { requirePrincipal } from '../access/principal.ts';
import type { Org, Role, User } from '../db/schema.ts';
import { requestMeta } from '../http/request-meta.ts';
import { OrgOut, orgJson, RoleOut, UserOut, userJson } from '../users/user.json.ts';
import type { AuthContext } from './auth-context.ts';
import { clearAuthCookies, setAuthCookies } from './cookies.ts';
import type { LoginResult, LoginSuccess } from './login.ts';
import type { TokenPair } from './session-issue.ts';
import { logout, logoutAll } from './sessions.ts';

export const TokenFields = {
  access_token: Type.String(),
  refresh_token: Type.String(),
  token_type: Type.Literal('bearer'),
  expires_in: Type.Integer({ description: 'Seconds until the access token expires' }),
};
export const SessionTokens = Type.Object({
  user: UserOut,
  org: OrgOut,
  role: RoleOut,
  ...TokenFields,
});
/**
 * The document's contract: when LiveKit is configured, sign-up and login also answer a room token
 * for the user's personal room (src/livekit/). Absent otherwise, and never with an MFA challenge.
 */
export const LiveKitSessionFields = {
  livekit_token: Type.Optional(
    Type.String({
      description: 'LiveKit token for your personal room (when LiveKit is configured)',
    }),
  ),
  livekit_url: Type.Optional(
    Type.String({ description: 'The LiveKit server to connect to (when LiveKit is configured)' }),
  ),
};
export const SessionTokensWithRoom = Type.Object(
  { user: UserOut, org: OrgOut, role: RoleOut, ...TokenFields, ...LiveKitSessionFields },
  { title: 'SessionTokensWithRoom' },
);

/** Who sign-up or login just opened a session for, for the LiveKit fields. */
export interface OpenedSession {
  userId: string;
  orgId: string;
  role: Role;
  superuser: boolean;
  sessionId: string;
  mfaPending?: boolean;
}

/** The LiveKit fields of a sign-up or login answer (src/routes.ts plugs LiveKit in); never throws. */
export type SessionExtras = (
  s: OpenedSession,
  source: 'register' | 'login',
) => Promise<{ livekit_token?: string; livekit_url?: string }>;

export const MfaChallenge = Type.Object({
  mfa_required: Type.Literal(true),
  mfa_token: Type.String({
    description: 'Single-use, 5 minutes; only for POST /api/auth/mfa/verify',
  }),
  methods: Type.Array(Type.String()),
});

export function sessionBody(r: { user: User; org: Org; role: Role; tokens: TokenPair }) {
  return { user: userJson(r.user), org: orgJson(r.org), role: r.role, ...r.tokens };
}

export function mfaChallengeBody(r: Extract<LoginResult, { kind: 'mfa' }>) {
  return { mfa_required: true as const, mfa_token: r.mfa_token, methods: r.methods };
}

export type SessionResponse = ReturnType<typeof sessionResponse>;

export function sessionResponse(auth: AuthContext) {
  const cookieSettings = {
    secure: auth.config.auth.secureCookies,
    accessTtlSeconds: auth.config.auth.accessTokenTtlSeconds,
    refreshTtlSeconds: auth.config.auth.refreshIdleTtlSeconds,
    csrfKey: auth.config.secretKey,
  };
  return {
    setCookies(reply: FastifyReply, t: TokenPair): void {
      // The session the access token was just signed for: its CSRF token is bound to it.
      const { sid } = decodeJwt(t.access_token);
      if (typeof sid !== 'string' || sid.length === 0) {
        throw new Error('an access token without its session id');
      }
      setAuthCookies(reply, cookieSettings, {
        accessToken: t.access_token,
        refreshToken: t.refresh_token,
        sessionId: sid,
      });
    },
    clearCookies(reply: FastifyReply): void {
      clearAuthCookies(reply, cookieSettings);
    },
    /**
     * A completed login (password, or password and second factor): the org it opened in, as the
     * login's own transaction read it (no second transaction).
     */
    async loginBody(r: LoginSuccess) {
      return sessionBody({ user: r.user, org: r.org, role: r.role, tokens: r.tokens });
    },
    /** Logout (this session, or every session of the user): the cookies go with it. */
    async endSession(request: FastifyRequest, reply: FastifyReply, all: boolean) {
      await (all ? logoutAll : logout)(auth, requirePrincipal(request), requestMeta(request));
      clearAuthCookies(reply, cookieSettings);
      return reply.code(204).send(null);
    },
  };
}
