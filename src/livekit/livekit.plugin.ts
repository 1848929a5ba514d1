// The LiveKit capability's background work: the voice-session sweep and the revocation
// subscription start when the app is ready and stop before it closes. `app.livekit` is the
// capability (tests run its sweep and wait for its evictions).
import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import type { LiveKit } from './livekit.service.ts';

declare module 'fastify' {
  interface FastifyInstance {
    livekit: LiveKit;
  }
}

const plugin: FastifyPluginAsync<{ livekit: LiveKit }> = async (app, { livekit }) => {
  app.decorate('livekit', livekit);
  app.addHook('onReady', async () => livekit.start());
  app.addHook('preClose', async () => livekit.stop());
};

// Not encapsulated: app.livekit is visible on the app.
export const livekitBackground = fp(plugin, { name: 'livekit-background' });
