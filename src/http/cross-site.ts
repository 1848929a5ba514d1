// Cross-site request refusal for routes that take no credential (login, sign-up, the mailed-token
// flows). The double-submit CSRF token protects cookie-authenticated writes, but it cannot protect
// a route the caller reaches without a session: a page on another site could auto-submit a login
// with the attacker's password (login CSRF) and the victim's browser would keep the attacker's
// session cookies. Such routes set `config: { crossSite: 'refuse' }`; this one hook enforces it.
import type { FastifyRequest, onRequestHookHandler } from 'fastify';
import { AppError } from './errors.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** 'refuse': a request another site's page started is answered 403 cross_site_request. */
    crossSite?: 'refuse';
  }
}

const single = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join(', ') : v);

/**
 * Did a browser send this request on behalf of a page of `ours` (or of the user typing a URL)?
 * Sec-Fetch-Site, when present, is the browser's own verdict and cannot be set by page script:
 * only `same-origin` and `none` (typed, bookmarked) pass; `same-site` is a sibling host, which
 * may be another tenant's or an attacker's. Without it (older browsers) the Origin header decides:
 * it must be ours; `null` (sandboxed frames, cross-origin redirects) is not. With neither header
 * the caller is not a browser (curl, SDKs, servers), which no other site can drive.
 */
export function isSameOriginRequest(headers: FastifyRequest['headers'], ours: string): boolean {
  const site = single(headers['sec-fetch-site']);
  if (site !== undefined) return site === 'same-origin' || site === 'none';
  const origin = single(headers.origin);
  if (origin === undefined) return true;
  try {
    return new URL(origin).origin === ours;
  } catch {
    return false;
  }
}

/** The onRequest hook; registered before the authenticator so a refused request costs nothing. */
export function refuseCrossSite(publicUrl: string): onRequestHookHandler {
  const ours = new URL(publicUrl).origin;
  // Synchronous (done-style), like every hook that runs on each request: an async hook costs a
  // promise and a microtask per request even when it has nothing to do.
  return function refuseCrossSite(request, _reply, done) {
    if (request.routeOptions.config?.crossSite !== 'refuse') return done();
    if (isSameOriginRequest(request.headers, ours)) return done();
    request.log.info(
      {
        origin: single(request.headers.origin),
        sec_fetch_site: single(request.headers['sec-fetch-site']),
      },
      'cross-site request refused',
    );
    done(
      new AppError(
        'cross_site_request',
        'This route only accepts requests from the Switchboard dashboard itself or from non-browser clients',
      ),
    );
  };
}
