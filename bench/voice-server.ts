// The voice benchmark target, run as a child process (bench/voice.ts starts it):
//   node .dist-bench/bench/voice-server.js pglite | postgres
// Switchboard with the platform Twilio account configured, an org with a phone and 100 calls,
// and 10 other orgs with 100 calls each (so the tenant-scoped list filters a shared table).
// Prints one JSON line {port, headers, publicUrl, authToken, number} once it listens.
import { buildApp } from '../src/app.ts';
import type { Database } from '../src/db/database.ts';
import { withSystem } from '../src/db/tenant.ts';
import { newId } from '../src/http/ids.ts';
import { benchConfig, openScratch, serveBench } from './scratch.ts';
import { completedCallRows, seedBenchIdentity } from './seed.ts';

const dbKind = process.argv[2];
const BENCH_TWILIO = {
  accountSid: `AC${'5'.repeat(32)}`,
  authToken: 'benchtoken0123456789abcdef012345',
  publicUrl: 'https://bench.example.test',
};

async function seedCalls(database: Database, orgId: string, ownerId: string, n: number) {
  const phoneId = newId();
  const number = `+1${2_000_000_000 + Math.floor(Math.random() * 7_000_000_000)}`;
  await withSystem(database, async (tx) => {
    await tx
      .insertInto('phones')
      .values({
        id: phoneId,
        org_id: orgId,
        owner_id: ownerId,
        number,
        label: 'bench',
        active: true,
      })
      .execute();
    await tx
      .insertInto('calls')
      .values(completedCallRows(orgId, n, { number, phoneId, ownerId }))
      .execute();
  });
  return number;
}

/** Another tenant sharing the tables: an org and its owner, made on the system path. */
async function otherOrg(database: Database, i: number) {
  const orgId = newId();
  const userId = newId();
  await withSystem(database, async (tx) => {
    await tx
      .insertInto('orgs')
      .values({ id: orgId, name: `Other ${i}`, kind: 'company' })
      .execute();
    await tx
      .insertInto('users')
      .values({
        id: userId,
        email: `other-${i}-${orgId}@example.test`,
        full_name: 'Other',
        password_hash: null,
      })
      .execute();
    await tx
      .insertInto('memberships')
      .values({ org_id: orgId, user_id: userId, role: 'owner' })
      .execute();
  });
  return { orgId, userId };
}

async function main() {
  const scratch = await openScratch(dbKind, 'sb_bench_voice');
  const { database, dataDir } = scratch;
  const config = benchConfig(dataDir, {
    RATE_LIMIT_REGISTER_IP: '1000000/3600',
    PUBLIC_URL: BENCH_TWILIO.publicUrl,
    TWILIO_ACCOUNT_SID: BENCH_TWILIO.accountSid,
    TWILIO_AUTH_TOKEN: BENCH_TWILIO.authToken,
    DISPATCHER_ENABLED: 'false',
  });
  const app = await buildApp(config, { database });
  await app.ready();
  const identity = await seedBenchIdentity(app);
  const number = await seedCalls(database, identity.orgId, identity.userId, 100);
  for (let i = 0; i < 10; i++) {
    const other = await otherOrg(database, i);
    await seedCalls(database, other.orgId, other.userId, 100);
  }
  await serveBench(app, scratch, {
    headers: identity.headers,
    publicUrl: BENCH_TWILIO.publicUrl,
    authToken: BENCH_TWILIO.authToken,
    number,
  });
}

await main();
