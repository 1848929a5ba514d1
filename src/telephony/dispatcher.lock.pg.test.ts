// An outcome the dispatcher could not write before asking Twilio anything, on PostgreSQL: the
// calling window's deferral share-locks the window's row, and an admin's change holding it past
// DATABASE_LOCK_TIMEOUT_MS cancels that statement (55P03). No call was attempted, so the claim is
// given back — pending, its attempt not spent — instead of the call sitting in `dispatching` until
// the dispatcher's lease runs out and then counting as a failed attempt (with
// DISPATCHER_MAX_ATTEMPTS 1: failed for good). It is due again after DISPATCHER_RETRY_BASE_MS, not
// at once: a write that keeps failing must not make every pass claim the same calls (a full batch,
// run again at once) while other orgs' due calls wait. The lock is held from a connection of its
// own for the whole pass: nothing is timed. Runs only with DATABASE_URL (PGlite has one
// connection).
import type { Logger } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { databaseFromUrl } from '../db/database.ts';
import { withSystem } from '../db/tenant.ts';
import { as, type TestApp } from '../test/app.ts';
import type { TestDatabase } from '../test/db.ts';
import { createTeam } from '../test/factories.ts';
import type { FakeTwilio } from '../test/fake-twilio.ts';
import { pgRaces } from '../test/pg-race.ts';
import {
  appOnFakeTwilio,
  callingAgent,
  create,
  makeScheduledCallDue,
  scheduledCallRow,
  uniqueNumber,
} from '../test/twilio.ts';
import { createDispatcher } from './dispatcher.ts';

let fake: FakeTwilio;
let t: TestApp;
let busy: TestDatabase;
let a: Awaited<ReturnType<typeof createTeam>>;
let agent: { id: string };
const owner = () => as(a.owner, a.org, 'owner');

beforeAll(async () => {
  ({ t, fake } = await appOnFakeTwilio({ DISPATCHER_MAX_ATTEMPTS: '1' }));
  // The dispatcher's own pool, as main.ts opens it, with a short lock timeout.
  busy = databaseFromUrl(t.database.url as string, {
    poolSize: 2,
    timeoutMs: 5000,
    lockTimeoutMs: 100,
  }) as TestDatabase;
  a = await createTeam(t.database);
  ({ agent } = await callingAgent(t, [a.owner, a.org, 'owner']));
});
afterAll(async () => {
  await busy?.close();
  await t?.close();
  await fake?.close();
});

const { openAct } = pgRaces(() => t);

/** The dispatcher's config with a retry base long enough that nothing here waits it out. */
const RETRY_BASE_MS = 600_000;
const dispatcherConfig = (over: Partial<TestApp['config']['dispatcher']> = {}) => ({
  ...t.config,
  dispatcher: { ...t.config.dispatcher, retryBaseMs: RETRY_BASE_MS, ...over },
});

// Saturday 2026-03-07 12:00 in New York: outside a weekday window, which opens Monday 09:00 EDT.
const SATURDAY = new Date('2026-03-07T17:00:00.000Z');
const MONDAY_OPENING = new Date('2026-03-09T13:00:00.000Z');

it('a window deferral that cannot take its lock gives the claim back: no attempt spent', async () => {
  const put = await t.app.inject({
    method: 'PUT',
    url: '/api/orgs/current/calling-window',
    headers: owner(),
    payload: { time_zone: 'America/New_York', days: [1, 2, 3, 4, 5], start: '09:00', end: '20:00' },
  });
  expect(put.statusCode, put.body).toBe(200);
  const s = await create(t.app, '/api/scheduled-calls', [a.owner, a.org, 'owner'], {
    agent_id: agent.id,
    to: uniqueNumber(),
    scheduled_at: new Date(Date.now() + 60_000).toISOString(),
  });
  await makeScheduledCallDue(t.database, s.id);
  const dispatcher = createDispatcher({
    database: busy,
    config: dispatcherConfig(),
    logger: t.app.log as unknown as Logger,
    now: () => SATURDAY,
  });

  // An admin's change of the window, open for the whole pass: the deferral's lock times out.
  const admin = await openAct();
  try {
    await admin.q('SELECT 1 FROM org_calling_windows WHERE org_id = $1 FOR UPDATE', [a.org.id]);
    await dispatcher.runOnce();
  } finally {
    await admin.rollback();
  }
  expect(await scheduledCallRow(t.database, s.id)).toMatchObject({
    status: 'pending',
    attempts: 0,
    dispatch_key: null,
    lease_expires_at: null,
    window_deferred_until: null,
  });
  // Due again after DISPATCHER_RETRY_BASE_MS, not at once.
  const released = await scheduledCallRow(t.database, s.id);
  expect(released.next_attempt_at.getTime()).toBeGreaterThan(Date.now() + RETRY_BASE_MS / 2);
  await dispatcher.runOnce();
  expect(await scheduledCallRow(t.database, s.id)).toMatchObject({
    status: 'pending',
    attempts: 0,
  });

  // Were it left to its lease: the lease runs out (forced here) and the next pass (the call made
  // due) writes what the first could not. The call is put off until the opening, its one attempt
  // still unspent.
  await withSystem(t.database, (tx) =>
    tx
      .updateTable('scheduled_calls')
      .set({ lease_expires_at: new Date(Date.now() - 1000) })
      .where('id', '=', s.id)
      .where('status', '=', 'dispatching')
      .execute(),
  );
  await makeScheduledCallDue(t.database, s.id);
  await dispatcher.runOnce();
  expect(await scheduledCallRow(t.database, s.id)).toMatchObject({
    status: 'pending',
    attempts: 0,
    window_deferred_until: MONDAY_OPENING,
  });
  expect(fake.calls.filter((c) => c.scheduledCallId === s.id)).toHaveLength(0);
});

it("calls given back are put off: the next pass, run at once after a full batch, takes other orgs' calls", async () => {
  // Nothing else due in this file's database: the test counts what each pass claims.
  await withSystem(t.database, (tx) =>
    tx
      .updateTable('scheduled_calls')
      .set({ status: 'cancelled' })
      .where('status', 'in', ['pending', 'dispatching'])
      .execute(),
  );
  // An org whose window's row an admin's change holds: its calls' outcomes cannot be written.
  const held = await createTeam(t.database);
  const heldOwner = [held.owner, held.org, 'owner'] as [
    typeof held.owner,
    typeof held.org,
    'owner',
  ];
  const put = await t.app.inject({
    method: 'PUT',
    url: '/api/orgs/current/calling-window',
    headers: as(...heldOwner),
    payload: { time_zone: 'America/New_York', days: [1, 2, 3, 4, 5], start: '09:00', end: '20:00' },
  });
  expect(put.statusCode, put.body).toBe(200);
  const { agent: heldAgent } = await callingAgent(t, heldOwner);
  const other = await createTeam(t.database);
  const otherOwner = [other.owner, other.org, 'owner'] as [
    typeof other.owner,
    typeof other.org,
    'owner',
  ];
  const { agent: otherAgent } = await callingAgent(t, otherOwner);
  const schedule = (who: typeof heldOwner | typeof otherOwner, agentId: string) =>
    create(t.app, '/api/scheduled-calls', who, {
      agent_id: agentId,
      to: uniqueNumber(),
      scheduled_at: new Date(Date.now() + 60_000).toISOString(),
    });
  const blocked = [
    await schedule(heldOwner, heldAgent.id),
    await schedule(heldOwner, heldAgent.id),
  ];
  const waiting = await schedule(otherOwner, otherAgent.id);
  // The held org's calls are due first (the claim takes the earliest), a full batch of them.
  const dueAt = (id: string, at: Date) =>
    withSystem(t.database, (tx) =>
      tx.updateTable('scheduled_calls').set({ next_attempt_at: at }).where('id', '=', id).execute(),
    );
  for (const b of blocked) await dueAt(b.id, new Date(Date.now() - 60_000));
  await dueAt(waiting.id, new Date(Date.now() - 1000));

  const dispatcher = createDispatcher({
    database: busy,
    config: dispatcherConfig({ batchSize: blocked.length }),
    logger: t.app.log as unknown as Logger,
    now: () => SATURDAY,
  });
  const admin = await openAct();
  try {
    await admin.q('SELECT 1 FROM org_calling_windows WHERE org_id = $1 FOR UPDATE', [held.org.id]);
    // A full batch: the loop would run the next pass at once.
    expect(await dispatcher.runOnce()).toBe(blocked.length);
    for (const b of blocked) {
      expect(await scheduledCallRow(t.database, b.id)).toMatchObject({
        status: 'pending',
        attempts: 0,
        dispatch_key: null,
      });
    }
    // That pass takes the other org's call (the given-back calls are not due), and places it; not
    // a full batch, so the loop then waits its poll interval.
    expect(await dispatcher.runOnce()).toBe(1);
    expect(fake.calls.filter((c) => c.scheduledCallId === waiting.id)).toHaveLength(1);
    expect(await scheduledCallRow(t.database, waiting.id)).toMatchObject({ status: 'dispatched' });
    expect(await dispatcher.runOnce()).toBe(0);
  } finally {
    await admin.rollback();
  }
  // No attempt was spent on the given-back calls, and none of them was placed.
  for (const b of blocked) {
    expect(await scheduledCallRow(t.database, b.id)).toMatchObject({
      status: 'pending',
      attempts: 0,
    });
    expect(fake.calls.filter((c) => c.scheduledCallId === b.id)).toHaveLength(0);
  }
});

/** A new org with a calling agent and one scheduled call, due now. */
async function teamWithDueCall() {
  const team = await createTeam(t.database);
  const who = [team.owner, team.org, 'owner'] as [typeof team.owner, typeof team.org, 'owner'];
  const { agent: teamAgent } = await callingAgent(t, who);
  const s = await create(t.app, '/api/scheduled-calls', who, {
    agent_id: teamAgent.id,
    to: uniqueNumber(),
    scheduled_at: new Date(Date.now() + 60_000).toISOString(),
  });
  await makeScheduledCallDue(t.database, s.id);
  return { team, s };
}

it('a call Twilio accepted whose log the database refused for a moment is written again: placed once', async () => {
  const { team, s } = await teamWithDueCall();

  // An act holding the org's row (a suspension being written, say) while the call is placed: the
  // log's share lock on it times out once. The dispatcher's wait before writing again ends it.
  const admin = await openAct();
  await admin.q('SELECT 1 FROM orgs WHERE id = $1 FOR UPDATE', [team.org.id]);
  let held = true;
  const waits: number[] = [];
  const dispatcher = createDispatcher({
    database: busy,
    config: dispatcherConfig(),
    logger: t.app.log as unknown as Logger,
    sleep: async (ms) => {
      waits.push(ms);
      if (held) {
        held = false;
        await admin.rollback();
      }
    },
  });
  try {
    await dispatcher.runOnce();
  } finally {
    if (held) await admin.rollback();
  }
  expect(waits).toEqual([100]);
  const placed = fake.calls.filter((c) => c.scheduledCallId === s.id);
  expect(placed).toHaveLength(1);
  expect(await scheduledCallRow(t.database, s.id)).toMatchObject({
    status: 'dispatched',
    call_sid: placed[0]!.sid,
    lease_expires_at: null,
  });
  const logged = await withSystem(t.database, (tx) =>
    tx.selectFrom('calls').select('call_sid').where('scheduled_call_id', '=', s.id).execute(),
  );
  expect(logged).toEqual([{ call_sid: placed[0]!.sid }]);
});

it('no new try at the log once it could not end before the lease: the call is left to its lease and callbacks', async () => {
  const { team, s } = await teamWithDueCall();
  // A lease shorter than a statement's timeout: a try begun after the refusal could still be
  // running when another instance recovers the row, places the call again, and then this log
  // would be a second call's.
  expect(t.config.database.statementTimeoutMs).toBeGreaterThan(10_000);
  const admin = await openAct();
  await admin.q('SELECT 1 FROM orgs WHERE id = $1 FOR UPDATE', [team.org.id]);
  const waits: number[] = [];
  const dispatcher = createDispatcher({
    database: busy,
    config: dispatcherConfig({ leaseSeconds: 10 }),
    logger: t.app.log as unknown as Logger,
    sleep: async (ms) => {
      waits.push(ms);
    },
  });
  try {
    await dispatcher.runOnce();
  } finally {
    await admin.rollback();
  }
  expect(waits).toEqual([]);
  expect(fake.calls.filter((c) => c.scheduledCallId === s.id)).toHaveLength(1);
  expect(await scheduledCallRow(t.database, s.id)).toMatchObject({ status: 'dispatching' });
});
