// The conversations' recovery sweep (recovery.ts): once when the app is ready, then every minute
// until it closes. Under PGlite the first sweep takes every `recording` row (one process owns the
// database); otherwise only rows whose writer has been silent for three heartbeats.
import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import type { Database } from '../db/database.ts';
import { HEARTBEAT_MS } from './audio-stream.handler.ts';
import { sweepConversations } from './recovery.ts';

export const SWEEP_INTERVAL_MS = 60_000;
const STALE_SECONDS = (3 * HEARTBEAT_MS) / 1000;

const plugin: FastifyPluginAsync<{ database: Database; dataDir: string }> = async (
  app,
  { database, dataDir },
) => {
  const deps = { database, dataDir, log: app.log };
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<unknown> = Promise.resolve();
  const sweep = (staleSeconds: number) => {
    running = sweepConversations(deps, staleSeconds).catch((err) =>
      app.log.error({ err }, 'conversation recovery sweep failed'),
    );
    return running;
  };
  app.addHook('onReady', async () => {
    await sweep(database.kind === 'pglite' ? 0 : STALE_SECONDS);
    timer = setInterval(() => void sweep(STALE_SECONDS), SWEEP_INTERVAL_MS);
    timer.unref();
  });
  app.addHook('preClose', async () => {
    if (timer) clearInterval(timer);
    await running;
  });
};

export const conversationRecovery = fp(plugin, { name: 'conversation-recovery' });
