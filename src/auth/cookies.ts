// Browser credentials. The access and refresh tokens live in HttpOnly cookies the page's script
// cannot read (XSS cannot steal them); sb_csrf is readable on purpose: the page echoes it in
// X-CSRF-Token, which a cross-site form cannot do (double-submit defence).
import type { FastifyReply } from 'fastify';
import { generateToken } from '../crypto/tokens.ts';

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
}

export function setAuthCookies(
  reply: FastifyReply,
  s: CookieSettings,
  tokens: { accessToken: string; refreshToken: string },
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
  reply.setCookie(CSRF_COOKIE, generateToken(24), {
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
