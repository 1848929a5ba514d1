// Builds the Fastify application from a config object and its dependencies. It never listens:
// main.ts does that, and tests call the app in-process.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import cookie from '@fastify/cookie';
import helmet from '@fastify/helmet';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Type } from 'typebox';
import type { Authenticator } from './access/principal.ts';
import { createActInOrg, registerSuperuserAudit } from './admin/act-in-org.ts';
import { adminRoutes } from './admin/admin.routes.ts';
import { apiKeyRoutes } from './api-keys/api-key.routes.ts';
import { createApiKeyAuthenticator } from './api-keys/authenticate-api-key.ts';
import { auditRoutes } from './audit/audit.routes.ts';
import { accountEmailRoutes } from './auth/account-email.routes.ts';
import { authRoutes } from './auth/auth.routes.ts';
import { type AuthContext, createAuthContext } from './auth/auth-context.ts';
import { createAuthenticator } from './auth/authenticate.ts';
import { jwksRoutes } from './auth/jwks.routes.ts';
import { newDeviceCheck } from './auth/new-device.ts';
import { afterSignUp } from './auth/sign-up-mails.ts';
import type { Config } from './config.ts';
import type { Database } from './db/database.ts';
import { healthRoutes } from './health/health.routes.ts';
import { refuseCrossSite } from './http/cross-site.ts';
import { ERRORS, type ErrorCode } from './http/errors.ts';
import { registerFormBodyParser } from './http/form-body.ts';
import { frameworkErrorHandler, registerProblemHandlers, sendProblem } from './http/problem.ts';
import { allowWhileMfaPending, MFA_PENDING_ALLOWED } from './http/route-config.ts';
import { Problem } from './http/schemas.ts';
import { createValidatorCompiler } from './http/validation.ts';
import { loggerOptions } from './logger.ts';
import { createMailer, type Mailer } from './mail/mailer.ts';
import { mfaSecondFactor } from './mfa/login-challenge.ts';
import { mfaRoutes } from './mfa/mfa.routes.ts';
import { mfaEnrollmentGate } from './mfa/mfa-enrollment-gate.ts';
import { invitationRoutes } from './orgs/invitation.routes.ts';
import { orgRoutes } from './orgs/org.routes.ts';
import { promptRoutes } from './prompts/prompt.routes.ts';
import { createPromptService } from './prompts/prompt.service.ts';
import { telephony } from './telephony/telephony.plugin.ts';
import { voiceRoutes } from './voice/voice.routes.ts';
import { webRoutes } from './web/web.routes.ts';

export interface AppDeps {
  database: Database;
  redis?: Redis;
  logger?: Logger;
  mailer?: Mailer;
  /**
   * Test-only override of how callers are identified (e.g. by headers, for fast resource tests).
   * main.ts never passes it: a normal start always uses the token authenticator.
   */
  authenticate?: Authenticator;
  /** Where the built dashboard lives (default web/dist); tests point it at a stand-in. */
  webDistDir?: string;
  /**
   * Test-only: the clock signing-key stages are judged by, so a rotation can be followed through
   * its stages without waiting. main.ts never passes it (the database's clock rules).
   */
  clock?: () => Date;
}

export interface RouteSummary {
  method: string;
  url: string;
  schema?: {
    hide?: boolean;
    body?: { type?: string; additionalProperties?: unknown };
    response?: object;
  };
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

export async function buildApp(config: Readonly<Config>, deps: AppDeps): Promise<FastifyInstance> {
  const fastify = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: loggerOptions(config) }),
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy === false ? false : config.trustProxy,
    // Take a caller's X-Request-Id only when it is short and plain; otherwise mint one.
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
    logController: new LogController({ requestIdLogLabel: 'request_id' }),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: true },
    frameworkErrors: frameworkErrorHandler,
  }) as unknown as FastifyInstance;
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.setValidatorCompiler(createValidatorCompiler());

  // Every route, for the OpenAPI completeness test and the startup summary.
  const routeTable: RouteSummary[] = [];
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) {
      routeTable.push({ method, url: r.url, schema: r.schema as RouteSummary['schema'] });
    }
  });
  app.decorate('routeTable', routeTable);

  const mailer =
    deps.mailer ??
    createMailer({
      smtpUrl: config.mail.smtpUrl,
      from: config.mail.from,
      outboxDir: join(config.dataDir, 'outbox'),
      logger: app.log as unknown as Logger,
      logLinks: config.nodeEnv === 'development',
    });
  const auth: AuthContext = await createAuthContext({
    config,
    database: deps.database,
    redis: deps.redis,
    mailer,
    logger: app.log as unknown as Logger,
    clock: deps.clock,
  });
  app.decorate('auth', auth);
  app.addHook('onReady', () => auth.start());
  app.addHook('onClose', async () => {
    auth.stop();
    if (!deps.mailer) await mailer.close();
  });

  // Cookies must be parsed before the authenticator's onRequest hook reads them.
  await app.register(cookie);
  // Form bodies only on routes whose schema `consumes` them; elsewhere 415.
  registerFormBodyParser(app, config.bodyLimitBytes);

  app.decorateRequest('principal', null);
  // In-flight requests, so shutdown can let them finish before the database closes.
  let inflight = 0;
  const drained: (() => void)[] = [];
  app.decorate('drain', (timeoutMs: number) =>
    inflight === 0
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          drained.push(resolve);
          setTimeout(resolve, timeoutMs).unref();
        }),
  );
  const finished = () => {
    inflight--;
    if (inflight === 0) for (const r of drained.splice(0)) r();
  };
  app.addHook('onRequest', async (request, reply) => {
    inflight++;
    // 'close' fires exactly once per response: sent, failed or aborted by the client.
    reply.raw.once('close', finished);
    reply.header('x-request-id', request.id);
  });
  // Public routes flagged `crossSite: 'refuse'` turn away other sites' pages before anything else.
  app.addHook('onRequest', refuseCrossSite(config.publicUrl));
  const authenticate =
    deps.authenticate ??
    createAuthenticator(auth, {
      apiKey: createApiKeyAuthenticator(auth),
      actAs: createActInOrg(deps.database),
    });
  app.addHook('onRequest', async (request) => {
    request.principal = await authenticate(request);
  });
  // Every request of the superuser acting in an org (X-Switchboard-Org) lands in its audit log.
  registerSuperuserAudit(app, deps.database);
  // Org MFA policy: an enrolment-only (mfa_pending) principal reaches only the routes declared
  // open to it (config: MFA_PENDING_ALLOWED); every other route refuses it.
  // Right after authentication, so a refused request is neither parsed nor validated.
  app.addHook('onRequest', mfaEnrollmentGate);

  registerProblemHandlers(app);
  app.addSchema(Problem);

  await app.register(helmet, {
    // The API docs UI loads its own inline assets; the dashboard sets its policy with its routes.
    contentSecurityPolicy: false,
    crossOriginEmbedderPolicy: false,
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Switchboard API',
        version: '0.1.0',
        description:
          'Identity and control plane for voice-AI agent platforms. Errors are RFC 9457 problem documents (application/problem+json) with a stable `code`.',
      },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          cookieAuth: { type: 'apiKey', in: 'cookie', name: 'sb_access' },
        },
      },
    },
    refResolver: {
      buildLocalReference: (json, _base, _frag, i) => (json.$id as string) ?? `def-${i}`,
    },
  });
  // The docs carry no tenant data: open to an enrolment-only session like the other public pages.
  await app.register(async (docs) => {
    allowWhileMfaPending(docs);
    await docs.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  });

  app.get('/openapi.json', { schema: { hide: true }, config: MFA_PENDING_ALLOWED }, async () =>
    app.swagger(),
  );

  app.get(
    '/problems/:code',
    {
      config: MFA_PENDING_ALLOWED,
      schema: {
        tags: ['meta'],
        summary: 'What an error code means',
        params: Type.Object({ code: Type.String({ maxLength: 64 }) }),
        response: {
          200: Type.Object({ code: Type.String(), status: Type.Integer(), title: Type.String() }),
          404: Type.Ref('Problem'),
        },
      },
    },
    async (request, reply) => {
      const code = request.params.code as ErrorCode;
      if (!Object.hasOwn(ERRORS, code)) {
        return sendProblem(request, reply, 'not_found', 'No such error code');
      }
      return { code, ...ERRORS[code] };
    },
  );

  await app.register(healthRoutes, {
    database: deps.database,
    redis: deps.redis,
    timeoutMs: config.database.timeoutMs,
  });
  await app.register(jwksRoutes, { getKeyRing: () => auth.getKeyRing() });
  const afterLogin = newDeviceCheck(auth);
  await app.register(authRoutes, {
    auth,
    secondFactor: mfaSecondFactor(auth),
    afterLogin,
    afterRegister: afterSignUp(auth),
  });
  await app.register(mfaRoutes, { auth, afterLogin });
  await app.register(accountEmailRoutes, { auth });
  await app.register(auditRoutes, { database: deps.database });
  await app.register(promptRoutes, { prompts: createPromptService(deps.database) });
  await app.register(orgRoutes, { auth });
  await app.register(invitationRoutes, { auth });
  await app.register(apiKeyRoutes, { auth });
  await app.register(adminRoutes, { auth });
  await app.register(voiceRoutes, { database: deps.database, config });
  await app.register(telephony, { database: deps.database, config });
  // Last: the dashboard's catch-all must never shadow an API route.
  await app.register(webRoutes, { distDir: deps.webDistDir });

  return app;
}
