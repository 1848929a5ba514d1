// The target of the idle device-socket benchmark (bench/device-sockets.ts), in its own process:
// Switchboard on a fresh embedded database with the per-user and per-org socket limits lifted.
// Prints one JSON line {port, token, pid} once it listens; then, for each `mem` line on stdin,
// collects garbage (node --expose-gc) and prints process.memoryUsage() as one JSON line.
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { openScratch } from './scratch.ts';
import { seedBenchIdentity } from './seed.ts';

const scratch = await openScratch('pglite', 'sb_bench_ws');
const config = loadConfig({
  NODE_ENV: 'test',
  LOG_LEVEL: 'silent',
  DATA_DIR: scratch.dataDir,
  ENCRYPTION_KEYS: `b1:${randomBytes(32).toString('base64')}`,
  SECRET_KEY: randomBytes(32).toString('base64url'),
  REALTIME_MAX_SOCKETS_PER_USER: '100000',
  REALTIME_MAX_SOCKETS_PER_ORG: '100000',
});
const app = await buildApp(config, { database: scratch.database });
await app.ready();
const identity = await seedBenchIdentity(app);
await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address() as { port: number };
console.log(
  JSON.stringify({
    port: address.port,
    token: identity.headers.authorization.slice('Bearer '.length),
    pid: process.pid,
  }),
);
process.on('SIGTERM', async () => {
  await app.close();
  await scratch.close();
  process.exit(0);
});
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() !== 'mem') return;
  (globalThis as { gc?: () => void }).gc?.();
  console.log(JSON.stringify(process.memoryUsage()));
});
