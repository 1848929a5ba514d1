// Browser credentials. The access and refresh tokens live in HttpOnly cookies the page's script
// cannot read (XSS cannot steal them); sb_csrf is readable on purpose: the page echoes it in
// X-CSRF-Token, which a cross-site form cannot do (double-submit defence). Its value is bound to
// the session (csrfTokenFor): a value that is merely equal in cookie and header is not enough, so
// whoever can plant a cookie on the victim's browser (a sibling subdomain, a plain-http page of
// the same host) and send the header cannot pair the victim's session with a token of their own.
import type { FastifyReply } from 'fastify';
import { keyedToken } from '../crypto/tokens.ts';
import type { ResponseHeader } from '../http/schemas.ts';

export const ACCESS_COOKIE = 'sb_access';
export const REFRESH_COOKIE = 'sb_refresh';
export const CSRF_COOKIE = 'sb_csrf';
export const CSRF_HEADER = 'x-csrf-token';
/** The refresh cookie is only ever sent to the refresh route. */
export const REFRESH_PATH = '/api/auth/refresh';

export interface CookieSettings {
  secure: boolean;
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
  /** SECRET_KEY: what binds the CSRF token to its session. */
  csrfKey: Buffer;
}

/** The session's CSRF token: the same for the session's whole life, unguessable without the key. */
export function csrfTokenFor(key: Buffer, sessionId: string): string {
  return keyedToken(key, 'sb_csrf', sessionId);
}

export function setAuthCookies(
  reply: FastifyReply,
  s: CookieSettings,
  tokens: { accessToken: string; refreshToken: string; sessionId: string },
): void {
  // Each set of options written out: a login's path builds no object by spread-plus-fields, slow
  // under Node 20's V8 (ARCHITECTURE.md, Performance).
  reply.setCookie(ACCESS_COOKIE, tokens.accessToken, {
    httpOnly: true,
    secure: s.secure,
    sameSite: 'lax',
    path: '/',
    maxAge: s.accessTtlSeconds,
  });
  reply.setCookie(REFRESH_COOKIE, tokens.refreshToken, {
    httpOnly: true,
    secure: s.secure,
    sameSite: 'lax',
    path: REFRESH_PATH,
    maxAge: s.refreshTtlSeconds,
  });
  reply.setCookie(CSRF_COOKIE, csrfTokenFor(s.csrfKey, tokens.sessionId), {
    httpOnly: false,
    secure: s.secure,
    sameSite: 'lax',
    path: '/',
    maxAge: s.refreshTtlSeconds,
  });
}

export function clearAuthCookies(reply: FastifyReply, s: Pick<CookieSettings, 'secure'>): void {
  const base = { httpOnly: true, secure: s.secure, sameSite: 'lax' as const };
  reply.clearCookie(ACCESS_COOKIE, { ...base, path: '/' });
  reply.clearCookie(REFRESH_COOKIE, { ...base, path: REFRESH_PATH });
  reply.clearCookie(CSRF_COOKIE, { secure: s.secure, sameSite: 'lax', path: '/' });
}

const SECURE =
  'Each is `Secure` unless the server runs on plain-http localhost outside production.';

/**
 * The OpenAPI description of the Set-Cookie headers setAuthCookies sends, for the answers that
 * call it: each cookie's attributes in parentheses (src/app/api-docs.test.ts compares them with
 * the cookies a real sign-up gets). `only`, a sentence: when the answer sets them, if not always.
 */
export function sessionCookiesHeader(only?: string): Record<string, ResponseHeader> {
  return {
    'Set-Cookie': {
      type: 'string',
      description: `The browser session, one Set-Cookie header per cookie. \`${ACCESS_COOKIE}\` (HttpOnly; SameSite=Lax; Path=/; Max-Age=ACCESS_TOKEN_TTL_SECONDS): the access token. \`${REFRESH_COOKIE}\` (HttpOnly; SameSite=Lax; Path=${REFRESH_PATH}; Max-Age=REFRESH_TOKEN_IDLE_TTL_SECONDS): the refresh token, sent only to the refresh route. \`${CSRF_COOKIE}\` (SameSite=Lax; Path=/; Max-Age=REFRESH_TOKEN_IDLE_TTL_SECONDS): the session's CSRF token (the same for the whole session), readable by the page, which echoes it in \`X-CSRF-Token\` on every cookie-authenticated POST, PUT, PATCH and DELETE. ${SECURE}${only ? ` ${only}` : ''}`,
    },
  };
}

/** The OpenAPI description of the Set-Cookie headers clearAuthCookies sends; `only` as above. */
export function clearedCookiesHeader(only?: string): Record<string, ResponseHeader> {
  return {
    'Set-Cookie': {
      type: 'string',
      description: `Clears the session cookies, one Set-Cookie header each, empty and already expired: \`${ACCESS_COOKIE}\` (Path=/), \`${REFRESH_COOKIE}\` (Path=${REFRESH_PATH}) and \`${CSRF_COOKIE}\` (Path=/).${only ? ` ${only}` : ''}`,
    },
  };
}
