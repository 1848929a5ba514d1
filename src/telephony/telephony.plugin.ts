// The scheduled-call dispatcher: started when the app is ready unless DISPATCHER_ENABLED=false,
// stopped before it closes. (The Twilio webhooks and credentials routes are in src/routes.ts.)
import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { Database } from '../db/database.ts';
import type { Quotas } from '../quotas/quotas.service.ts';
import { createDispatcher, type Dispatcher } from './dispatcher.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** The scheduled-call dispatcher (tests call runOnce; the app starts and stops it). */
    dispatcher: Dispatcher;
  }
}

const plugin: FastifyPluginAsync<{
  database: Database;
  config: Readonly<Config>;
  quotas?: Quotas;
}> = async (app, { database, config, quotas }) => {
  const logger = app.log as unknown as Logger;
  const dispatcher = createDispatcher({ database, config, logger, quotas });
  app.decorate('dispatcher', dispatcher);
  if (config.dispatcher.enabled) {
    app.addHook('onReady', async () => dispatcher.start());
    app.addHook('preClose', async () => dispatcher.stop());
  }
};

// Not encapsulated: app.dispatcher is visible on the app.
export const scheduledCallDispatcher = fp(plugin, { name: 'scheduled-call-dispatcher' });
