// Two server instances (each with its own connection pool) on one PostgreSQL database dispatch
// 100 due calls through the fake Twilio server: every call is placed exactly once — none twice,
// none missed — even with Twilio failing some requests. Runs only with DATABASE_URL.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { databaseFromUrl } from '../db/database.ts';
import { withSystem } from '../db/tenant.ts';
import { newId } from '../http/ids.ts';
import { buildTestApp, type TestApp } from '../test/app.ts';
import type { TestDatabase } from '../test/db.ts';
import { createTeam } from '../test/factories.ts';
import { type FakeTwilio, startFakeTwilio } from '../test/fake-twilio.ts';
import { callingAgent, PLATFORM_SID, PLATFORM_TOKEN, twilioEnv } from '../test/twilio.ts';

const CALLS = 100;
let fake: FakeTwilio;
let one: TestApp;
let two: TestApp;
let secondPool: TestDatabase;

beforeAll(async () => {
  fake = await startFakeTwilio({ [PLATFORM_SID]: PLATFORM_TOKEN });
  fake.delayMs = 15; // calls in flight overlap between the instances
  const env = twilioEnv({
    TWILIO_API_URL: fake.url,
    DISPATCHER_ENABLED: 'true',
    DISPATCHER_POLL_MS: '20',
    DISPATCHER_BATCH_SIZE: '7',
    DISPATCHER_RETRY_BASE_MS: '10',
    DISPATCHER_MAX_ATTEMPTS: '10',
  });
  // Each instance has its own PUBLIC_URL, so the fake can tell who placed which call.
  one = await buildTestApp({
    headerAuth: true,
    env: { ...env, PUBLIC_URL: 'https://one.example.test' },
  });
  secondPool = databaseFromUrl(one.database.url as string, { poolSize: 5, timeoutMs: 5000 });
  two = await buildTestApp({
    headerAuth: true,
    env: { ...env, PUBLIC_URL: 'https://two.example.test' },
    database: secondPool,
  });
});
afterAll(async () => {
  await two?.close();
  await secondPool?.close();
  await one?.close();
  await fake?.close();
});

it(`two instances dispatch ${CALLS} due calls: each placed exactly once`, async () => {
  const a = await createTeam(one.database);
  const { agent } = await callingAgent(one, [a.owner, a.org, 'owner']);
  fake.failNext(9, 503);
  const ids = Array.from({ length: CALLS }, () => newId());
  const due = new Date(Date.now() - 1000);
  await withSystem(one.database, (tx) =>
    tx
      .insertInto('scheduled_calls')
      .values(
        ids.map((id, i) => ({
          id,
          org_id: a.org.id,
          owner_id: a.owner.id,
          agent_id: agent.id,
          to_number: `+1415556${String(i).padStart(4, '0')}`,
          scheduled_at: due,
          next_attempt_at: due,
        })),
      )
      .execute(),
  );

  const deadline = Date.now() + 25_000;
  let statuses: { status: string; call_sid: string | null; id: string }[] = [];
  while (Date.now() < deadline) {
    statuses = await withSystem(one.database, (tx) =>
      tx
        .selectFrom('scheduled_calls')
        .select(['id', 'status', 'call_sid'])
        .where('id', 'in', ids)
        .execute(),
    );
    if (statuses.every((s) => s.status === 'dispatched')) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  // Let any straggler finish before counting (a duplicate would show up here).
  await new Promise((r) => setTimeout(r, 300));

  expect(statuses.filter((s) => s.status !== 'dispatched')).toEqual([]);
  const perCall = new Map<string, string[]>();
  for (const c of fake.calls) {
    if (c.scheduledCallId)
      perCall.set(c.scheduledCallId, [...(perCall.get(c.scheduledCallId) ?? []), c.sid]);
  }
  const twice = [...perCall].filter(([, sids]) => sids.length > 1);
  expect(twice, 'placed more than once').toEqual([]);
  expect([...perCall.keys()].sort(), 'every call placed').toEqual([...ids].sort());
  // The recorded call sid is the one Twilio returned, and every call is in the call log.
  for (const s of statuses) expect(s.call_sid).toBe(perCall.get(s.id)?.[0]);
  const logged = await withSystem(one.database, (tx) =>
    tx
      .selectFrom('calls')
      .select('scheduled_call_id')
      .where('scheduled_call_id', 'in', ids)
      .execute(),
  );
  expect(logged).toHaveLength(CALLS);
  // Both instances took part (each claims a batch of 7 every 20 ms; 100 calls take many batches).
  const byInstance = (host: string) => fake.calls.filter((c) => c.url.startsWith(host)).length;
  expect(byInstance('https://one.example.test')).toBeGreaterThan(0);
  expect(byInstance('https://two.example.test')).toBeGreaterThan(0);
});
