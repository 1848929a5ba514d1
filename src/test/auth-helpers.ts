// Test helpers for real authentication: sign up through the API, carry tokens and cookies.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { uniqueEmail } from './factories.ts';

export const GOOD_PASSWORD = 'correct horse battery staple 42';

export interface Registered {
  email: string;
  password: string;
  userId: string;
  orgId: string;
  access: string;
  refresh: string;
  cookies: Record<string, string>;
  res: LightMyRequestResponse;
}

/** name=value pairs from a response's Set-Cookie headers (cleared cookies are dropped). */
export function cookiesFrom(res: LightMyRequestResponse): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of res.cookies as { name: string; value: string; maxAge?: number }[]) {
    if (c.value && c.maxAge !== 0) out[c.name] = c.value;
  }
  return out;
}

export function cookieHeader(cookies: Record<string, string>): string {
  return Object.entries(cookies)
    .map(([k, v]) => `${k}=${v}`)
    .join('; ');
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** A POST carrying the session cookies alone, without the CSRF header (as a cross-site form). */
export function postWithCookiesOnly(
  app: FastifyInstance,
  url: string,
  cookies: Record<string, string>,
  payload?: object,
) {
  return app.inject({
    method: 'POST',
    url,
    headers: { cookie: cookieHeader(cookies) },
    ...(payload ? { payload } : {}),
  });
}

export async function registerUser(
  app: FastifyInstance,
  body: { email?: string; password?: string; full_name?: string; company_name?: string } = {},
  headers: Record<string, string> = {},
): Promise<Registered> {
  const email = body.email ?? uniqueEmail('reg');
  const password = body.password ?? GOOD_PASSWORD;
  const res = await app.inject({
    method: 'POST',
    url: '/api/auth/register',
    headers,
    payload: { company_name: 'Acme Voice', full_name: 'Ada Lovelace', ...body, email, password },
  });
  if (res.statusCode !== 201) throw new Error(`register failed: ${res.statusCode} ${res.body}`);
  const j = res.json();
  return {
    email,
    password,
    userId: j.user.id,
    orgId: j.org.id,
    access: j.access_token,
    refresh: j.refresh_token,
    cookies: cookiesFrom(res),
    res,
  };
}

export async function loginUser(
  app: FastifyInstance,
  email: string,
  password: string,
  headers: Record<string, string> = {},
) {
  return app.inject({
    method: 'POST',
    url: '/api/auth/login',
    headers,
    payload: { email, password },
  });
}

/** POST /api/auth/password/forgot for an address (the answer, unchecked). */
export function forgotPassword(app: FastifyInstance, email: string) {
  return app.inject({ method: 'POST', url: '/api/auth/password/forgot', payload: { email } });
}

/** POST /api/auth/password/change as `headers` (the answer, unchecked). */
export function changePassword(
  app: FastifyInstance,
  headers: Record<string, string>,
  current_password: string,
  new_password: string,
) {
  return app.inject({
    method: 'POST',
    url: '/api/auth/password/change',
    headers,
    payload: { current_password, new_password },
  });
}

/** POST /api/auth/logout, or /api/auth/logout-all when `everywhere`, as `headers` (unchecked). */
export function logOut(app: FastifyInstance, headers: Record<string, string>, everywhere = false) {
  const url = everywhere ? '/api/auth/logout-all' : '/api/auth/logout';
  return app.inject({ method: 'POST', url, headers });
}

/** PATCH (or PUT, the source documents' verb) /api/users/me as `headers`: unchecked. */
export function updateProfile(
  app: FastifyInstance,
  headers: Record<string, string>,
  payload: object,
  method: 'PATCH' | 'PUT' = 'PATCH',
) {
  return app.inject({ method, url: '/api/users/me', headers, payload });
}
