// Target of the tenant-read scenarios (bench/tenant.ts), run as a child process:
//   tsx bench/tenant-server.ts app <pglite|postgres>       — Switchboard
//   tsx bench/tenant-server.ts baseline <pglite|postgres>  — the unguarded baseline: a bare
//     Fastify running the SAME repository SELECTs on the same kind of database, as the database
//     owner, without authentication, row-level security, tenant context or transaction.
// Both seed the same world: six orgs (the measured one and five neighbours sharing the tables),
// each with 20 prompts and 100 calls. Prints one JSON line {port, headers} once it listens.
import { randomBytes } from 'node:crypto';
import Fastify from 'fastify';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import type { Database } from '../src/db/database.ts';
import { withSystem } from '../src/db/tenant.ts';
import { newId } from '../src/http/ids.ts';
import { listPrompts } from '../src/prompts/prompt.repository.ts';
import { findUserInOrg } from '../src/users/user.repository.ts';
import { listCalls } from '../src/voice/calls/call.repository.ts';
import { openScratch } from './scratch.ts';
import { seedBenchIdentity } from './seed.ts';

const [mode, dbKind] = process.argv.slice(2);

async function seedOrg(database: Database, orgId: string, ownerId: string) {
  await withSystem(database, async (tx) => {
    await tx
      .insertInto('prompts')
      .values(
        Array.from({ length: 20 }, (_, i) => ({
          id: newId(),
          org_id: orgId,
          owner_id: ownerId,
          name: `Prompt ${i}`,
          content: 'You are a helpful receptionist. '.repeat(8),
        })),
      )
      .execute();
    const t0 = Date.now() - 100 * 60_000;
    await tx
      .insertInto('calls')
      .values(
        Array.from({ length: 100 }, (_, i) => ({
          id: newId(t0 + i * 60_000),
          org_id: orgId,
          call_sid: `CA${randomBytes(16).toString('hex')}`,
          phone_id: null,
          agent_id: null,
          scheduled_call_id: null,
          phone_owner_id: null,
          agent_owner_id: null,
          direction: 'inbound' as const,
          from_number: '+14155550100',
          to_number: '+14155550199',
          status: 'completed' as const,
          started_at: new Date(t0 + i * 60_000),
          answered_at: new Date(t0 + i * 60_000 + 3000),
          ended_at: new Date(t0 + i * 60_000 + 63_000),
          duration_seconds: 60,
        })),
      )
      .execute();
  });
}

async function main() {
  const scratch = await openScratch(dbKind, 'sb_bench_tenant');
  const { database, dataDir } = scratch;
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATA_DIR: dataDir,
    ENCRYPTION_KEYS: `b1:${randomBytes(32).toString('base64')}`,
    SECRET_KEY: randomBytes(32).toString('base64url'),
    RATE_LIMIT_REGISTER_IP: '1000000/3600',
  });
  const app = await buildApp(config, { database });
  await app.ready();
  let identity!: Awaited<ReturnType<typeof seedBenchIdentity>>;
  for (let i = 0; i < 6; i++) {
    const org = await seedBenchIdentity(app);
    await seedOrg(database, org.orgId, org.userId);
    if (i === 2) identity = org;
  }

  let server = app;
  if (mode === 'baseline') {
    await app.close();
    const { orgId, userId } = identity;
    const db = database.db;
    server = Fastify({ logger: false });
    server.get('/api/prompts', async () => {
      const rows = await listPrompts(db, orgId, { limit: 21 });
      return { items: rows.slice(0, 20), next_cursor: rows.length > 20 ? rows[19]!.id : null };
    });
    server.get('/api/calls', async () => {
      const rows = await listCalls(db, { orgId }, { limit: 21 });
      return { items: rows.slice(0, 20), next_cursor: rows.length > 20 ? rows[19]!.id : null };
    });
    server.get('/auth/me', () => findUserInOrg(db, userId, orgId));
  }
  await server.listen({ port: 0, host: '127.0.0.1' });
  const address = server.server.address() as { port: number };
  console.log(JSON.stringify({ port: address.port, headers: identity.headers }));
  process.on('SIGTERM', async () => {
    await server.close();
    await scratch.close();
    process.exit(0);
  });
}

await main();
