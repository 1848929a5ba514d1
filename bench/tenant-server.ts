// Target of the tenant-read scenarios (bench/tenant.ts), run as a child process:
//   node .dist-bench/bench/tenant-server.js app <pglite|postgres>       — Switchboard
//   node .dist-bench/bench/tenant-server.js baseline <pglite|postgres>  — the unguarded baseline: a bare
//     Fastify running the SAME repository SELECTs on the same kind of database, as the database
//     owner, without authentication, row-level security, tenant context or transaction, through
//     the same driver (each statement prepared once per session, as Switchboard's are).
// Both seed the same world: six orgs (the measured one and five neighbours sharing the tables),
// each with 20 prompts and 100 calls. Prints one JSON line {port, headers} once it listens.
import Fastify from 'fastify';
import type { CompiledQuery, DatabaseConnection, QueryResult } from 'kysely';
import { buildApp } from '../src/app.ts';
import type { Database } from '../src/db/database.ts';
import { type Tx, withSystem } from '../src/db/tenant.ts';
import { newId } from '../src/http/ids.ts';
import { listPrompts } from '../src/prompts/prompt.repository.ts';
import { findUserInOrg } from '../src/users/user.repository.ts';
import { listCalls } from '../src/voice/calls/call.repository.ts';
import { benchConfig, openScratch, serveBench } from './scratch.ts';
import { completedCallRows, seedBenchIdentity } from './seed.ts';

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
    await tx
      .insertInto('calls')
      .values(
        completedCallRows(orgId, 100, { number: '+14155550199', phoneId: null, ownerId: null }),
      )
      .execute();
  });
}

async function main() {
  const scratch = await openScratch(dbKind, 'sb_bench_tenant');
  const { database, dataDir } = scratch;
  const config = benchConfig(dataDir, {
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
    // Each statement alone, in its own flight: no context, no transaction around it.
    const plain = <T>(fn: (db: Tx) => Promise<T>) =>
      database.session((conn) => {
        const bare: DatabaseConnection = {
          executeQuery: <R>(q: CompiledQuery) => conn.flight([q]) as Promise<QueryResult<R>>,
          streamQuery: () => {
            throw new Error('not supported');
          },
        };
        return fn(database.bind(bare));
      });
    server = Fastify({ logger: false });
    server.get('/api/prompts', async () => {
      const rows = await plain((db) => listPrompts(db, orgId, { limit: 21 }));
      return { items: rows.slice(0, 20), next_cursor: rows.length > 20 ? rows[19]!.id : null };
    });
    server.get('/api/calls', async () => {
      const rows = await plain((db) =>
        listCalls(
          db,
          { orgId },
          {
            limit: 21,
            before: undefined,
            since: undefined,
            until: undefined,
            status: undefined,
            direction: undefined,
            phoneId: undefined,
            agentId: undefined,
            number: undefined,
          },
        ),
      );
      return { items: rows.slice(0, 20), next_cursor: rows.length > 20 ? rows[19]!.id : null };
    });
    server.get('/auth/me', () => plain((db) => findUserInOrg(db, userId, orgId)));
  }
  await serveBench(server, scratch, { headers: identity.headers });
}

await main();
