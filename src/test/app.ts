// The one test-app builder: a real app over a fresh cloned database, called in-process.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Principal } from '../access/principal.ts';
import { buildApp } from '../app.ts';
import { type Config, loadConfig } from '../config.ts';
import type { Role } from '../db/schema.ts';
import { createTestDatabase, type TestDatabase } from './db.ts';

export const TEST_ENCRYPTION_KEYS = `t1:${Buffer.alloc(32, 7).toString('base64')}`;

export function testConfig(env: Record<string, string> = {}): Readonly<Config> {
  return loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'sb-data-')),
    ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...env,
  });
}

/**
 * Test-only identity: headers naming the user, org and role. Only this builder installs it; a
 * normal start (main.ts) never does, so it is not reachable outside tests.
 */
function headerAuthenticator(request: FastifyRequest): Principal | null {
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

export async function buildTestApp(
  options: { env?: Record<string, string>; database?: TestDatabase } = {},
): Promise<TestApp> {
  const config = testConfig(options.env);
  const database = options.database ?? (await createTestDatabase());
  const app = await buildApp(config, { database, authenticate: headerAuthenticator });
  await app.ready();
  return {
    app,
    database,
    config,
    async close() {
      await app.close();
      if (!options.database) await database.close();
      rmSync(config.dataDir, { recursive: true, force: true });
    },
  };
}

export function as(user: { id: string }, org: { id: string }, role: Role) {
  return { 'x-test-user': user.id, 'x-test-org': org.id, 'x-test-role': role };
}
