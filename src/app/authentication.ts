// Who is calling, decided once per request before any route sees it. The onRequest hooks run in
// this order, and the order is the point:
//   1. cross-site refusal: a public route flagged `crossSite: 'refuse'` turns away another site's
//      page before any credential is looked at (login CSRF);
//   2. the authenticator: bearer JWT, sb_access cookie (with its CSRF header on writes) or an
//      `sb_…` API key, then the superuser's X-Switchboard-Org → request.principal, or null; on a
//      device socket (SOCKET_GATE) its refusal goes to request.authError for the socket's gate;
//   3. (onSend) every request of a superuser acting in an org lands in that org's audit log;
//   4. the MFA enrolment gate: an enrolment-only (mfa_pending) principal reaches only the routes
//      declared open to it (config: MFA_PENDING_ALLOWED). Right after the authenticator, so a
//      refused request is neither parsed nor validated.
import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import type { Authenticator } from '../access/principal.ts';
import { createActInOrg, registerSuperuserAudit } from '../admin/act-in-org.ts';
import { createApiKeyAuthenticator } from '../api-keys/authenticate-api-key.ts';
import type { AuthContext } from '../auth/auth-context.ts';
import { createAuthenticator } from '../auth/authenticate.ts';
import { forwardAuthRefusal } from '../auth/forward-auth.ts';
import type { Database } from '../db/database.ts';
import { refuseCrossSite } from '../http/cross-site.ts';
import { answersForwardAuth, refusesAtSocketGate } from '../http/route-config.ts';
import { mfaEnrollmentGate } from '../mfa/mfa-enrollment-gate.ts';

export interface AuthenticationOptions {
  auth: AuthContext;
  database: Database;
  publicUrl: string;
  /** Test-only override (AppDeps.authenticate); main.ts never passes it. */
  authenticate?: Authenticator;
}

const plugin: FastifyPluginAsync<AuthenticationOptions> = async (app, opts) => {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', refuseCrossSite(opts.publicUrl));
  const authenticate =
    opts.authenticate ??
    createAuthenticator(opts.auth, {
      apiKey: createApiKeyAuthenticator(opts.auth),
      actAs: createActInOrg(opts.database),
    });
  // Done-style: the authenticator answers most requests synchronously (no credential, a token
  // verified before), and an async hook would cost each of them a promise and a microtask.
  app.addHook('onRequest', (request, _reply, done) => {
    // A device socket's gate refuses with a close frame: the refusal waits for it there.
    const refused = (err: Error) => {
      // Forward-auth: a proxy relays only 401 and 403 (see FORWARD_AUTH).
      if (answersForwardAuth(request.routeOptions.config)) return done(forwardAuthRefusal(err));
      if (!refusesAtSocketGate(request.routeOptions.config)) return done(err);
      request.authError = err;
      done();
    };
    let found: ReturnType<Authenticator>;
    try {
      found = authenticate(request);
    } catch (err) {
      return refused(err as Error);
    }
    if (!(found instanceof Promise)) {
      request.principal = found;
      return done();
    }
    found.then((principal) => {
      request.principal = principal;
      done();
    }, refused);
  });
  registerSuperuserAudit(app, opts.database);
  app.addHook('onRequest', mfaEnrollmentGate);
};

// Not encapsulated: the hooks run for every route, request.principal exists on every request.
export const authentication = fp(plugin, { name: 'authentication' });
