// Builds the Fastify application from a config object and its dependencies. It never listens:
// main.ts does that, and tests call the app in-process. Read it as a table of contents: Fastify
// and Ajv, the shared services, the request pipeline (each step a named plugin, in the order its
// hooks run), then the route table (src/routes.ts), where a new capability adds its line, and
// the background dispatcher.
import { join } from 'node:path';
import cookie from '@fastify/cookie';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Authenticator } from './access/principal.ts';
import { apiDocs } from './app/api-docs.ts';
import { authentication } from './app/authentication.ts';
import { requestId, requestLifecycle } from './app/request-lifecycle.ts';
import { securityHeaders } from './app/security-headers.ts';
import { type AuthContext, createAuthContext } from './auth/auth-context.ts';
import type { Config } from './config.ts';
import type { Database } from './db/database.ts';
import { registerFormBodyParser } from './http/form-body.ts';
import {
  clientErrorHandler,
  frameworkErrorHandler,
  registerProblemHandlers,
} from './http/problem.ts';
import { refuseUndeclaredQuery } from './http/query-params.ts';
import { registerJsonBodyParser } from './http/request-body.ts';
import { Problem } from './http/schemas.ts';
import { lazySerializers } from './http/serialization.ts';
import { createValidatorCompiler } from './http/validation.ts';
import { loggerOptions, requestLoggerFactory } from './logger.ts';
import { createMailer, type Mailer } from './mail/mailer.ts';
import { createQuotas, type Quotas } from './quotas/quotas.service.ts';
import type { AudioStreamHandler } from './realtime/audio-stream.ts';
import { registerRoutes } from './routes.ts';
import { scheduledCallDispatcher } from './telephony/telephony.plugin.ts';

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
  /**
   * Test-only: what takes over accepted device sockets (GET /ws, /ws_pcm) instead of the
   * recorder, so the socket gate's tests see exactly what it hands over.
   */
  audioStream?: AudioStreamHandler;
  /** Test-only: the concurrency quotas (a test's own clock or counter); default from config. */
  quotas?: Quotas;
}

export interface RouteSummary {
  method: string;
  url: string;
  schema?: {
    hide?: boolean;
    body?: { type?: string; additionalProperties?: unknown; patternProperties?: unknown };
    response?: object;
  };
}

export async function buildApp(config: Readonly<Config>, deps: AppDeps): Promise<FastifyInstance> {
  const fastify = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: loggerOptions(config) }),
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy === false ? false : config.trustProxy,
    genReqId: requestId,
    // Fastify's two lines per request are off: one access-log line instead, written when the
    // response is done (src/app/request-lifecycle.ts).
    logController: new LogController({
      requestIdLogLabel: 'request_id',
      disableRequestLogging: true,
    }),
    // Each request's logger is made on its first line, not on every request (src/logger.ts).
    childLoggerFactory: requestLoggerFactory,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: true },
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
    // Response serializers and request validators (src/http/validation.ts) compile on first use.
    schemaController: { compilersFactory: { buildSerializer: lazySerializers() } },
  }) as unknown as FastifyInstance;
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.setValidatorCompiler(createValidatorCompiler());
  // Before anything reads a route's schema: an API route that declares no query refuses one.
  refuseUndeclaredQuery(app);

  // Every route, for the OpenAPI completeness test and the startup summary.
  const routeTable: RouteSummary[] = [];
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) {
      routeTable.push({ method, url: r.url, schema: r.schema as RouteSummary['schema'] });
    }
  });
  app.decorate('routeTable', routeTable);

  // The services every capability shares: mail, and the auth context (keys, limits, revocation).
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
  app.decorate('background', auth.background);
  app.addHook('onReady', () => auth.start());
  app.addHook('onClose', async () => {
    // Work queued by the last requests runs to its end first: it may still mail or write.
    await auth.background.close();
    auth.stop();
    if (!deps.mailer) await mailer.close();
  });

  // The request pipeline, in the order its hooks run.
  // Cookies must be parsed before the authenticator's onRequest hook reads them.
  await app.register(cookie);
  // JSON bodies read strictly (UTF-8, no poisoning keys, no text/plain stand-in); form bodies only
  // on routes whose schema `consumes` them; elsewhere 415.
  registerJsonBodyParser(app, config.bodyLimitBytes);
  registerFormBodyParser(app, config.bodyLimitBytes);
  await app.register(requestLifecycle);
  // Before the authenticator: its refusals carry the headers too.
  await app.register(securityHeaders);
  await app.register(authentication, {
    auth,
    database: deps.database,
    publicUrl: config.publicUrl,
    authenticate: deps.authenticate,
  });
  registerProblemHandlers(app);
  app.addSchema(Problem);

  await app.register(apiDocs, { publicUrl: config.publicUrl });
  // Concurrency quotas: checked by telephony, LiveKit, the socket gate and the dispatcher.
  const quotas =
    deps.quotas ??
    createQuotas({
      database: deps.database,
      config,
      redis: deps.redis,
      logger: app.log as unknown as Logger,
    });
  app.decorate('quotas', quotas);
  // The embedded counter writes its leases behind: all of them are stored before the database closes.
  app.addHook('onClose', () => quotas.settled());
  await registerRoutes(app, {
    quotas,
    config,
    database: deps.database,
    redis: deps.redis,
    auth,
    webDistDir: deps.webDistDir,
    audioStream: deps.audioStream,
  });
  // Background work: scheduled calls, placed exactly once across instances.
  await app.register(scheduledCallDispatcher, { database: deps.database, config, quotas });

  return app;
}
