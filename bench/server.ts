// A benchmark target, run as a child process so the load generator does not share its CPU:
//   node .dist-bench/bench/server.js bare            — bare Fastify, the baseline
//   node .dist-bench/bench/server.js app pglite      — Switchboard on a fresh embedded database
//   node .dist-bench/bench/server.js app postgres    — Switchboard on a fresh database of BENCH_DATABASE_URL
// (tsc's output of this file, as bench/kit.ts starts it; `npx tsx bench/server.ts …` also runs it.)
// Prints one JSON line {port, headers} once it listens; seeds an org with 20 prompts.
import Fastify from 'fastify';
import { buildApp } from '../src/app.ts';
import { withSystem } from '../src/db/tenant.ts';
import { newId } from '../src/http/ids.ts';
import { benchConfig, openScratch, serveBench } from './scratch.ts';
import { BENCH_PASSWORD, seedBenchIdentity } from './seed.ts';

const [mode, dbKind] = process.argv.slice(2);

async function main() {
  if (mode === 'bare') {
    const app = Fastify({ logger: false });
    app.get('/health', async () => ({ status: 'ok' }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address() as { port: number };
    console.log(JSON.stringify({ port: address.port, headers: {} }));
    return;
  }
  const scratch = await openScratch(dbKind, 'sb_bench');
  const { database, dataDir } = scratch;
  const config = benchConfig(dataDir, {
    // Logins in the benchmark succeed; don't let the per-IP sign-up/refresh limits interfere.
    RATE_LIMIT_REGISTER_IP: '1000000/3600',
    // Every login attempt holds a point of its (account, IP) and account budgets while its
    // password is checked, right or wrong: the benchmark's concurrent logins of one account from
    // one address would otherwise be refused beyond the 5th in flight.
    RATE_LIMIT_LOGIN_ACCOUNT_IP: '1000/900',
    RATE_LIMIT_LOGIN_ACCOUNT: '2000/900',
  });
  const app = await buildApp(config, { database });
  await app.ready();
  const identity = await seedBenchIdentity(app);
  await withSystem(database, async (tx) => {
    for (let i = 0; i < 20; i++) {
      await tx
        .insertInto('prompts')
        .values({
          id: newId(),
          org_id: identity.orgId,
          owner_id: identity.userId,
          name: `Prompt ${i}`,
          content: 'You are a helpful receptionist. '.repeat(8),
        })
        .execute();
    }
  });
  await serveBench(app, scratch, {
    headers: identity.headers,
    login: { email: identity.email, password: BENCH_PASSWORD },
    argon2: config.auth.argon2,
  });
}

await main();
