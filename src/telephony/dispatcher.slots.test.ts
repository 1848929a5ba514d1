// A scheduled call's live-call slot (src/quotas/call-slots.ts) when an attempt's outcome is
// unknown: the request to Twilio timed out or its answer was lost, so the attempt may or may not
// have placed a call. Each attempt holds a slot of its own (the lease is keyed by its dispatch
// key) while its outcome is open: neither attempt's end or failure gives back the other's slot.
// When the dispatcher's lease runs out with no call logged for the row, lease recovery decides the
// attempt placed nothing and puts the call back to be placed again: that attempt's slot goes back
// with that decision (the day's count stays), so a spell of timeouts does not hold slots for
// QUOTA_LEASE_SECONDS; a late callback of its call releasing it again changes nothing. A row
// finished as dispatched by recovery (a call was logged) keeps its slot. Nothing is timed: the
// lost answer is a client that throws once Twilio (the fake) accepted the call, the timeout one
// that throws without asking, the lease's end is written. And last_error says why a call waits
// now: a deferral by the calling window replaces an earlier quota wait's reason with its own.
import type { Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dispatchGate, WINDOW_WAIT_REASON } from '../calling-rules/rules.ts';
import { withSystem } from '../db/tenant.ts';
import { createQuotas, type Quotas } from '../quotas/quotas.service.ts';
import { as, buildTestApp, type TestApp } from '../test/app.ts';
import { createTeam } from '../test/factories.ts';
import { type FakeCall, type FakeTwilio, startFakeTwilio } from '../test/fake-twilio.ts';
import {
  callingAgent,
  callParams,
  create,
  makeScheduledCallDue,
  PLATFORM_SID,
  PLATFORM_TOKEN,
  PUBLIC_URL,
  scheduledCallRow,
  twilioEnv,
  twilioPost,
  uniqueNumber,
} from '../test/twilio.ts';
import { claimDueCalls, markWindowDeferred } from './dispatch.repository.ts';
import { createDispatcher } from './dispatcher.ts';
import { withOrgService } from './org-service.ts';
import { createTwilioClients, type TwilioClientFor, type TwilioRest } from './twilio-client.ts';

let fake: FakeTwilio;
let t: TestApp;
let quotas: Quotas;

beforeAll(async () => {
  fake = await startFakeTwilio({ [PLATFORM_SID]: PLATFORM_TOKEN });
  t = await buildTestApp({
    headerAuth: true,
    env: twilioEnv({ TWILIO_API_URL: fake.url, DISPATCHER_MAX_ATTEMPTS: '5' }),
  });
  // The app's counter (the embedded one is shared per database), read by the test's dispatchers.
  quotas = createQuotas({ database: t.database, config: t.config });
});
afterAll(async () => {
  await t?.close();
  await fake?.close();
});

/** A client whose request times out before Twilio took the call: nothing is placed. */
function timedOutBeforeTwilio(): TwilioClientFor {
  return async () => {
    const calls = Object.assign(
      () => {
        throw new Error('no call to update');
      },
      {
        create: async () => {
          throw Object.assign(new Error('request timed out'), { code: 'ETIMEDOUT' });
        },
      },
    );
    return { calls } as unknown as TwilioRest;
  };
}

/** A client whose calls.create reaches Twilio, which accepts the call; the answer is then lost. */
function answerLost(): TwilioClientFor {
  const real = createTwilioClients(t.config);
  return async (account) => {
    const client = await real(account);
    const calls = Object.assign((sid: string) => client.calls(sid), {
      create: async (opts: Parameters<TwilioRest['calls']['create']>[0]) => {
        await client.calls.create(opts);
        throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
      },
    });
    return { calls } as unknown as TwilioRest;
  };
}

const dispatcher = (clientFor?: TwilioClientFor, now?: () => Date) =>
  createDispatcher({
    database: t.database,
    config: t.config,
    logger: t.app.log as unknown as Logger,
    quotas,
    ...(clientFor ? { clientFor } : {}),
    ...(now ? { now } : {}),
  });

/** An org allowed `max` live calls, none reserved for inbound, with a due call. */
async function orgWithDueCall(max: number) {
  const a = await createTeam(t.database);
  const who = [a.owner, a.org, 'owner'] as [typeof a.owner, typeof a.org, 'owner'];
  const res = await t.app.inject({
    method: 'PUT',
    url: '/api/orgs/current/quotas',
    headers: as(...who),
    payload: {
      max_live_calls: max,
      inbound_reserved_calls: 0,
      max_voice_sessions: null,
      max_device_sockets: null,
      max_scheduled_calls_per_day: null,
    },
  });
  expect(res.statusCode, res.body).toBe(200);
  const { phone, agent } = await callingAgent(t, who);
  const s = await create(t.app, '/api/scheduled-calls', who, {
    agent_id: agent.id,
    to: uniqueNumber(),
    scheduled_at: new Date(Date.now() + 60_000).toISOString(),
  });
  await makeScheduledCallDue(t.database, s.id);
  const usage = async () =>
    (await t.app.inject({ url: '/api/orgs/current/usage', headers: as(...who) })).json();
  const live = async () => (await usage()).live_calls.live as number;
  const today = async () => (await usage()).scheduled_calls_per_day.live as number;
  return { id: s.id, phone, live, today, who };
}

/** The lease of the row's attempt runs out (written, not waited for). */
function expireLease(id: string) {
  return withSystem(t.database, (tx) =>
    tx
      .updateTable('scheduled_calls')
      .set({ lease_expires_at: new Date(Date.now() - 1000) })
      .where('id', '=', id)
      .execute(),
  );
}

/** The first attempt: Twilio places the call, the dispatcher never hears; its lease runs out. */
async function maybeLiveAttempt(id: string): Promise<FakeCall> {
  await dispatcher(answerLost()).runOnce();
  expect(await scheduledCallRow(t.database, id)).toMatchObject({
    status: 'dispatching',
    attempts: 1,
  });
  await expireLease(id);
  const placed = fake.calls.filter((c) => c.scheduledCallId === id);
  expect(placed).toHaveLength(1);
  return placed[0]!;
}

/** Twilio's "completed" status callback for a call the fake placed. */
async function completed(c: FakeCall, from: string) {
  const res = await twilioPost(
    t.app,
    c.statusCallback!.slice(PUBLIC_URL.length),
    callParams({
      CallSid: c.sid,
      From: from,
      To: c.to,
      Direction: 'outbound-api',
      CallStatus: 'completed',
    }),
  );
  expect(res.statusCode).toBe(204);
}

it('a request that timed out before Twilio took the call: recovery gives its slot back', async () => {
  const { id, phone, live, today } = await orgWithDueCall(1);
  await dispatcher(timedOutBeforeTwilio()).runOnce();
  expect(await scheduledCallRow(t.database, id)).toMatchObject({
    status: 'dispatching',
    attempts: 1,
  });
  expect(fake.calls.filter((c) => c.scheduledCallId === id)).toHaveLength(0);
  // Outcome unknown: the attempt keeps the org's one slot while its lease runs.
  expect(await live()).toBe(1);

  // The lease runs out with no call logged: recovery puts the call back to be placed again, and
  // the attempt's slot goes back with that decision. The retry takes the slot and is placed (it
  // waited for the timed-out attempt's slot for QUOTA_LEASE_SECONDS before).
  await expireLease(id);
  await dispatcher().runOnce();
  const calls = fake.calls.filter((c) => c.scheduledCallId === id);
  expect(calls).toHaveLength(1);
  expect(await scheduledCallRow(t.database, id)).toMatchObject({
    status: 'dispatched',
    call_sid: calls[0]!.sid,
    attempts: 2,
  });
  expect(await live()).toBe(1);
  // The day's count keeps both attempts.
  expect(await today()).toBe(2);

  // The call placed ends: nothing is left counting.
  await completed(calls[0]!, phone.number);
  expect(await live()).toBe(0);
});

it('a client that cannot be had sent nothing: the call is retried, its slot given back at once', async () => {
  const { id, live } = await orgWithDueCall(1);
  let asked = 0;
  const unavailable: TwilioClientFor = () => {
    asked++;
    throw Object.assign(new Error('too many open files'), { code: 'EMFILE' });
  };
  await dispatcher(unavailable).runOnce();
  expect(asked).toBe(1);
  expect(fake.calls.filter((c) => c.scheduledCallId === id)).toHaveLength(0);
  // A definite failure, like an unreachable Twilio: back to the queue with its backoff, not left
  // "maybe placed" to its lease (holding the org's one slot meanwhile).
  const row = await scheduledCallRow(t.database, id);
  expect(row).toMatchObject({
    status: 'pending',
    attempts: 1,
    lease_expires_at: null,
    last_error: 'The Twilio client could not be started (nothing was sent)',
  });
  expect(row.next_attempt_at.getTime()).toBeGreaterThan(Date.now());
  expect(await live()).toBe(0);
});

it("neither attempt's end nor failure gives back the other's slot; recovery gives back the first's", async () => {
  const { id, phone, live } = await orgWithDueCall(5);
  const first = await maybeLiveAttempt(id);
  expect(await live()).toBe(1);

  // The lease ran out with no call logged: recovery decides the first attempt placed nothing and
  // gives its slot back. The retry fails with a definite answer: its own slot goes back.
  fake.failNext(1, 503);
  await dispatcher().runOnce();
  expect(await scheduledCallRow(t.database, id)).toMatchObject({
    status: 'pending',
    attempts: 2,
  });
  expect(await live()).toBe(0);

  // The next retry is placed and holds its slot.
  await makeScheduledCallDue(t.database, id);
  await dispatcher().runOnce();
  const calls = fake.calls.filter((c) => c.scheduledCallId === id);
  expect(calls).toHaveLength(2);
  const second = calls[1]!;
  expect(await scheduledCallRow(t.database, id)).toMatchObject({
    status: 'dispatched',
    call_sid: second.sid,
    attempts: 3,
  });
  expect(await live()).toBe(1);

  // The first attempt's call did exist after all and ends late: its callback releases the first
  // attempt's slot again, which changes nothing — the second's is still held while it is live.
  await completed(first, phone.number);
  expect(await live()).toBe(1);
  await completed(second, phone.number);
  expect(await live()).toBe(0);
});

it('a row recovery finishes as dispatched (its call was logged) keeps its slot', async () => {
  const { id, phone, live } = await orgWithDueCall(5);
  const first = await maybeLiveAttempt(id);
  // The call is logged for the row by a callback that does not name the attempt (no dispatch
  // key: it cannot settle the row), so the row waits for its lease.
  const res = await twilioPost(
    t.app,
    `/webhooks/twilio/status?scheduled_call_id=${id}`,
    callParams({
      CallSid: first.sid,
      From: phone.number,
      To: first.to,
      Direction: 'outbound-api',
      CallStatus: 'in-progress',
    }),
  );
  expect(res.statusCode).toBe(204);
  expect((await scheduledCallRow(t.database, id)).status).toBe('dispatching');
  await dispatcher().runOnce();
  expect(await scheduledCallRow(t.database, id)).toMatchObject({
    status: 'dispatched',
    call_sid: first.sid,
  });
  expect(fake.calls.filter((c) => c.scheduledCallId === id)).toHaveLength(1);
  // The call is live: its attempt's slot still counts until its status callback ends it.
  expect(await live()).toBe(1);
  await completed(first, phone.number);
  expect(await live()).toBe(0);
});

it("a call's end frees its slot when the callback lost our query (a console-set status URL, a proxy)", async () => {
  const { id, phone, live } = await orgWithDueCall(5);
  await dispatcher().runOnce();
  expect((await scheduledCallRow(t.database, id)).status).toBe('dispatched');
  expect(await live()).toBe(1);
  const placed = fake.calls.find((c) => c.scheduledCallId === id)!;
  const res = await twilioPost(
    t.app,
    '/webhooks/twilio/status',
    callParams({
      CallSid: placed.sid,
      From: phone.number,
      To: placed.to,
      Direction: 'outbound-api',
      CallStatus: 'completed',
    }),
  );
  expect(res.statusCode).toBe(204);
  // The call's attempt is read from the call log: its slot goes back as with our own URL.
  expect(await live()).toBe(0);
});

describe('last_error says why the call waits now', () => {
  /** New York's weekdays, 09:00 to 17:00; Saturday 2026-03-07 12:00 EST is outside it. */
  const WEEKDAYS_NY = {
    time_zone: 'America/New_York',
    days: [1, 2, 3, 4, 5],
    start: '09:00',
    end: '17:00',
  };
  const SATURDAY = new Date('2026-03-07T17:00:00.000Z');
  const MONDAY_OPENING = new Date('2026-03-09T13:00:00.000Z');
  const setWindow = async (who: Parameters<typeof as>, window: object | null) => {
    const res = await t.app.inject({
      method: window ? 'PUT' : 'DELETE',
      url: '/api/orgs/current/calling-window',
      headers: as(...who),
      ...(window ? { payload: window } : {}),
    });
    expect(res.statusCode, res.body).toBe(window ? 200 : 204);
  };
  /** The call waited for a live-call slot (none allowed): last_error says so. */
  async function waitedForASlot() {
    const org = await orgWithDueCall(0);
    await dispatcher().runOnce();
    const waiting = await scheduledCallRow(t.database, org.id);
    expect(waiting).toMatchObject({ status: 'pending', attempts: 0 });
    expect(waiting.last_error).toMatch(/^Waiting for a free call slot/);
    return org;
  }

  it("a call put off by the calling window says so, not an earlier wait's reason", async () => {
    const { id, who } = await waitedForASlot();
    await setWindow(who, WEEKDAYS_NY);
    await makeScheduledCallDue(t.database, id);
    await dispatcher(undefined, () => SATURDAY).runOnce();
    expect(fake.calls.filter((c) => c.scheduledCallId === id)).toHaveLength(0);
    expect(await scheduledCallRow(t.database, id)).toMatchObject({
      status: 'pending',
      attempts: 0,
      window_deferred_until: MONDAY_OPENING,
      last_error: WINDOW_WAIT_REASON,
    });
  });

  it('the window removed, or the call changed, the wait for the window is no longer its reason', async () => {
    for (const change of ['window removed', 'number changed'] as const) {
      const { id, who } = await waitedForASlot();
      await setWindow(who, WEEKDAYS_NY);
      await makeScheduledCallDue(t.database, id);
      await dispatcher(undefined, () => SATURDAY).runOnce();
      expect((await scheduledCallRow(t.database, id)).last_error).toBe(WINDOW_WAIT_REASON);
      if (change === 'window removed') {
        await setWindow(who, null);
      } else {
        const res = await t.app.inject({
          method: 'PATCH',
          url: `/api/scheduled-calls/${id}`,
          headers: as(...who),
          payload: { to: uniqueNumber() },
        });
        expect(res.statusCode, res.body).toBe(200);
      }
      expect(await scheduledCallRow(t.database, id), change).toMatchObject({
        status: 'pending',
        window_deferred_until: null,
        last_error: null,
      });
    }
  });

  it('a deferral the window changed since does not hold the call, nor write the window as its reason', async () => {
    const { id, who } = await waitedForASlot();
    const before = (await scheduledCallRow(t.database, id)).last_error;
    await setWindow(who, WEEKDAYS_NY);
    await makeScheduledCallDue(t.database, id);
    const claimed = await withSystem(t.database, (tx) => claimDueCalls(tx, 100, 30));
    const mine = claimed.find((c) => c.id === id)!;
    const gate = dispatchGate(mine, SATURDAY);
    if (gate.kind !== 'defer') throw new Error(`expected a deferral, got ${gate.kind}`);
    // The window is removed between the claim and the deferral the claim's window decided: the
    // call is due again at once, judged afresh by the next claim (like a claim given back).
    await setWindow(who, null);
    const owned = await withOrgService(t.database, mine.org_id, (tx) =>
      markWindowDeferred(tx, mine.org_id, id, mine.dispatch_key, gate.until, gate.window),
    );
    expect(owned).toBe(true);
    expect(await scheduledCallRow(t.database, id)).toMatchObject({
      status: 'pending',
      attempts: 0,
      window_deferred_until: null,
      last_error: before,
    });
  });
});
