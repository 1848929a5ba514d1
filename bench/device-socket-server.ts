// The target of the idle device-socket benchmark (bench/device-sockets.ts), in its own process:
// Switchboard on a fresh embedded database with the per-user and per-org socket limits and the
// org's device-socket quota lifted.
// Prints one JSON line {port, token, pid} once it listens; then, for each `mem` line on stdin,
// collects garbage (node --expose-gc) and prints process.memoryUsage() as one JSON line.
import { createInterface } from 'node:readline';
import { buildApp } from '../src/app.ts';
import { benchConfig, openScratch, serveBench } from './scratch.ts';
import { seedBenchIdentity } from './seed.ts';

const scratch = await openScratch('pglite', 'sb_bench_ws');
const config = benchConfig(scratch.dataDir, {
  REALTIME_MAX_SOCKETS_PER_USER: '100000',
  REALTIME_MAX_SOCKETS_PER_ORG: '100000',
  QUOTA_MAX_DEVICE_SOCKETS: '100000',
  // Each socket names its own device (bench-<i>), all of one user.
  REALTIME_MAX_DEVICES_PER_USER: '100000',
});
const app = await buildApp(config, { database: scratch.database });
await app.ready();
const identity = await seedBenchIdentity(app);
await serveBench(app, scratch, {
  token: identity.headers.authorization.slice('Bearer '.length),
  pid: process.pid,
});
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() !== 'mem') return;
  (globalThis as { gc?: () => void }).gc?.();
  console.log(JSON.stringify(process.memoryUsage()));
});
