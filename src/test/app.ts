// The one test-app builder: a real app over a fresh cloned database, called in-process.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { afterAll, beforeAll } from 'vitest';
import type { Principal } from '../access/principal.ts';
import { type AppDeps, buildApp } from '../app.ts';
import { type Config, loadConfig } from '../config.ts';
import type { Role } from '../db/schema.ts';
import { createTestDatabase, type TestDatabase } from './db.ts';
import { deleteKeysUnder } from './redis.ts';

export const TEST_ENCRYPTION_KEYS = `t1:${Buffer.alloc(32, 7).toString('base64')}`;

/**
 * LiveKit configured for apps that never reach a LiveKit server (minting room tokens is local):
 * its routes answer instead of 503. Tests that talk to LiveKit use src/test/fake-livekit.ts.
 */
export const LIVEKIT_ENV = {
  LIVEKIT_URL: 'ws://127.0.0.1:9',
  LIVEKIT_API_KEY: 'APItest',
  LIVEKIT_API_SECRET: 'test-livekit-secret-0123456789abcdef',
};

/**
 * The data directories testConfig made in this test file. A built test app removes its own when
 * it closes; a config used on its own (a logger's options, a service under test) never does, so
 * whatever is left goes when the file's tests are done: a run leaves nothing in the temp folder.
 */
const dataDirs: string[] = [];
// At module level: vitest attaches it to the root suite of the test file that imports this one.
afterAll(() => {
  for (const dir of dataDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

export function testConfig(env: Record<string, string> = {}): Readonly<Config> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sb-data-'));
  dataDirs.push(dataDir);
  return loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    SECRET_KEY: 'test-secret-key-0123456789abcdef0123456789',
    // Cheap hashing keeps tests fast; the production cost is measured in BENCHMARKS.md.
    ARGON2_MEMORY_COST: '1024',
    ARGON2_TIME_COST: '1',
    // Every test app has its own Redis keys and roomy limits; limit tests set tight ones.
    REDIS_KEY_PREFIX: `sbtest:${randomBytes(6).toString('hex')}`,
    RATE_LIMIT_REGISTER_IP: '100000/3600',
    RATE_LIMIT_REGISTER_REFUSED_IP: '100000/3600',
    RATE_LIMIT_LOGIN_IP: '100000/900',
    RATE_LIMIT_REFRESH_IP: '100000/60',
    RATE_LIMIT_PASSWORD_FORGOT_IP: '100000/3600',
    RATE_LIMIT_PASSWORD_RESET_IP: '100000/900',
    // Roomy concurrency quotas too (a test placing 100 calls never ends them); quota tests set
    // tight ones per org.
    QUOTA_MAX_LIVE_CALLS: '10000',
    QUOTA_MAX_VOICE_SESSIONS: '10000',
    QUOTA_MAX_DEVICE_SOCKETS: '10000',
    QUOTA_MAX_SCHEDULED_CALLS_PER_DAY: '100000',
    ...env,
  });
}

/**
 * Test-only identity: headers naming the user, org and role. Only this builder installs it; a
 * normal start (main.ts) never does, so it is not reachable outside tests.
 */
export function headerAuthenticator(request: FastifyRequest): Principal | null {
  const userId = request.headers['x-test-user'];
  const orgId = request.headers['x-test-org'];
  const role = request.headers['x-test-role'];
  if (typeof userId !== 'string' || typeof orgId !== 'string' || typeof role !== 'string')
    return null;
  return { userId, orgId, role: role as Role, superuser: false };
}

export interface TestApp {
  app: FastifyInstance;
  database: TestDatabase;
  config: Readonly<Config>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  env?: Record<string, string>;
  database?: TestDatabase;
  /** Identify callers by x-test-* headers instead of tokens (resource tests). */
  headerAuth?: boolean;
  deps?: Partial<AppDeps>;
}

export async function buildTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const config = testConfig(options.env);
  const database = options.database ?? (await createTestDatabase());
  const app = await buildApp(config, {
    database,
    ...(options.headerAuth ? { authenticate: headerAuthenticator } : {}),
    ...options.deps,
  });
  await app.ready();
  return {
    app,
    database,
    config,
    async close() {
      await app.close();
      // The app's rate-limit counters and quota leases under its own prefix: a test run leaves
      // nothing on the machine's Redis (the connection is the test's, still open).
      if (options.deps?.redis) await deleteKeysUnder(options.deps.redis, config.redisKeyPrefix);
      if (!options.database) await database.close();
      rmSync(config.dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * One test app for a whole test file: built before its first test, closed after its last. The
 * object is filled in when the file's tests start, so use it inside tests and hooks only.
 */
export function appForFile(options: TestAppOptions = {}): TestApp {
  const t = {} as TestApp;
  beforeAll(async () => {
    Object.assign(t, await buildTestApp(options));
  });
  afterAll(() => t.close());
  return t;
}

/**
 * Two instances of the app over one database (two servers of one deployment), for a whole test
 * file: what one instance learns at once, the other learns by polling. Filled in like appForFile.
 */
export function twoAppsForFile(): [TestApp, TestApp] {
  const one = {} as TestApp;
  const two = {} as TestApp;
  beforeAll(async () => {
    Object.assign(one, await buildTestApp());
    Object.assign(two, await buildTestApp({ database: one.database }));
  });
  afterAll(async () => {
    await two.close();
    await one.close();
  });
  return [one, two];
}

export function as(user: { id: string }, org: { id: string }, role: Role) {
  return { 'x-test-user': user.id, 'x-test-org': org.id, 'x-test-role': role };
}
