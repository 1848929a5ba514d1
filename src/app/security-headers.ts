// Browser security headers on every answer: helmet's (HSTS, nosniff, frame and referrer policy,
// cross-origin isolation), with its content security policy left to the dashboard's routes.
// helmet's headers depend only on its options, never on the request, so they are computed once,
// by running helmet itself against a recording response, and set per request in one step: what
// @fastify/helmet did with two hooks and a dozen setter calls on every request, for the same
// headers (src/app/security-headers.test.ts compares them with helmet's own output).
// A route answered to machines only (forward-auth, on every proxied request) opts out with
// `config: { securityHeaders: false }`.
// With them, `Cache-Control: no-store` unless the route sets its own: answers carry tokens (login,
// refresh, MFA), secrets shown once and tenant data, none of which a browser's disk cache or a
// shared proxy may keep (RFC 6749 §5.1 for token answers). Routes whose answers may be cached
// (the JWKS, the dashboard's assets) say so themselves, replacing this default; conversation
// audio is tenant data and stays no-store.
import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import helmet, { type HelmetOptions } from 'helmet';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** false: no browser security headers (a route whose answers no browser renders). */
    securityHeaders?: false;
  }
}

export const HELMET_OPTIONS: Readonly<HelmetOptions> = Object.freeze({
  // The API docs UI loads its own inline assets; the dashboard sets its policy with its routes.
  contentSecurityPolicy: false,
  crossOriginEmbedderPolicy: false,
});

/** The headers helmet sets with `options` (it also removes X-Powered-By, never set here). */
export function helmetHeaders(options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: string) {
      headers[name.toLowerCase()] = value;
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  let ran = false;
  helmet(options)(
    {} as Parameters<ReturnType<typeof helmet>>[0],
    recorder as unknown as Parameters<ReturnType<typeof helmet>>[1],
    () => {
      ran = true;
    },
  );
  // helmet answers synchronously; anything else would be a change to check, not to ship.
  if (!ran) throw new Error('helmet did not finish synchronously');
  return Object.freeze(headers);
}

/** Every answer's headers: helmet's, and no caching unless the route chooses its own. */
export function answerHeaders(): Record<string, string> {
  return Object.freeze({ ...helmetHeaders(HELMET_OPTIONS), 'cache-control': 'no-store' });
}

const plugin: FastifyPluginAsync = async (app) => {
  const headers = answerHeaders();
  app.addHook('onRequest', (request, reply, done) => {
    if (request.routeOptions.config.securityHeaders !== false) reply.headers(headers);
    done();
  });
};

// Not encapsulated: every route's answers carry the headers.
export const securityHeaders = fp(plugin, { name: 'security-headers' });
