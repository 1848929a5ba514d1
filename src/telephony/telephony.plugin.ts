// Telephony: Twilio webhooks, the org's Twilio credentials, media-token introspection, and the
// scheduled-call dispatcher (started when the app is ready unless DISPATCHER_ENABLED=false,
// stopped before it closes). Media tokens are signed by the app's access-token key ring
// (app.auth), so the JWKS that verifies access tokens verifies them too.
import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { Database } from '../db/database.ts';
import { createDispatcher, type Dispatcher } from './dispatcher.ts';
import { mediaTokenRoutes } from './media-token.routes.ts';
import { createMediaTokenService } from './media-token.service.ts';
import { createMediaTokens } from './stream-token.ts';
import { twilioCredentialsRoutes } from './twilio-credentials.routes.ts';
import { createTwilioCredentialsService } from './twilio-credentials.service.ts';
import { twilioWebhookRoutes } from './webhooks.routes.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** The scheduled-call dispatcher (tests call runOnce; the app starts and stops it). */
    dispatcher: Dispatcher;
  }
}

const plugin: FastifyPluginAsync<{ database: Database; config: Readonly<Config> }> = async (
  app,
  { database, config },
) => {
  const logger = app.log as unknown as Logger;
  const mediaTokens = createMediaTokens({
    getKeyRing: () => app.auth.getKeyRing(),
    issuer: config.auth.issuer,
    ttlSeconds: config.twilio.streamTokenTtlSeconds,
  });
  await app.register(twilioWebhookRoutes, { database, config, logger, mediaTokens });
  await app.register(mediaTokenRoutes, {
    mediaTokens: createMediaTokenService(database, mediaTokens),
  });
  await app.register(twilioCredentialsRoutes, {
    credentials: createTwilioCredentialsService(database, config),
  });
  const dispatcher = createDispatcher({ database, config, logger });
  app.decorate('dispatcher', dispatcher);
  if (config.dispatcher.enabled) {
    app.addHook('onReady', async () => dispatcher.start());
    app.addHook('preClose', async () => dispatcher.stop());
  }
};

// Not encapsulated: app.dispatcher is visible on the app.
export const telephony = fp(plugin, { name: 'telephony' });
