// The device-audio benchmark target, run as a child process: the conversations' stream handler
// behind a plain WebSocket server on 127.0.0.1 (the realtime routes' authentication is not what
// is measured: every socket streams as one seeded user), writing to a fresh DATA_DIR on a fresh
// embedded database. Prints one JSON line {port} once it listens.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { buildApp } from '../src/app.ts';
import { createAudioStreamHandler } from '../src/conversations/audio-stream.handler.ts';
import { newId } from '../src/http/ids.ts';
import { benchConfig, openScratch } from './scratch.ts';
import { seedBenchIdentity } from './seed.ts';

const scratch = await openScratch('pglite', 'sb_bench_audio');
const { database, dataDir } = scratch;
const config = benchConfig(dataDir, {
  AUDIO_MAX_CONVERSATION_BYTES: String(2_000_000_000),
});
const app = await buildApp(config, { database });
await app.ready();
const identity = await seedBenchIdentity(app);
const handler = createAudioStreamHandler({ database, config });
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 1_048_576 });
await once(wss, 'listening');
const noop = () => {};
const log = { info: noop, warn: noop, error: noop, debug: noop, trace: noop, fatal: noop };
let n = 0;
wss.on('connection', (socket, req) => {
  n += 1;
  handler(socket, {
    orgId: identity.orgId,
    userId: identity.userId,
    deviceId: newId(),
    clientId: `${identity.userId.slice(-6)}-bench${n}`,
    deviceName: `bench${n}`,
    codec: req.url?.startsWith('/ws_pcm') ? 'pcm' : 'opus',
    signal: new AbortController().signal,
    log: { ...log, child: () => log, level: 'silent' } as never,
  });
});
console.log(JSON.stringify({ port: (wss.address() as AddressInfo).port }));
process.on('SIGTERM', async () => {
  await handler.closeAll('benchmark over');
  wss.close();
  await app.close();
  await scratch.close();
  process.exit(0);
});
