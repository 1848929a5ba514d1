// A scheduled call's live-call slot (src/quotas/call-slots.ts) when an attempt's outcome is
// unknown: Twilio accepted the call but the answer was lost, so the call may be live while the
// lease runs out and the call is tried again. Each attempt holds a slot of its own (the lease is
// keyed by its dispatch key): the maybe-live call keeps counting against max_live_calls until its
// own status callback ends it, a retry takes another slot (or waits for one), and neither
// attempt's end or failure gives back the other's slot. Nothing is timed: the lost answer is a
// client that throws once Twilio (the fake) accepted the call, the lease's end is written.
import type { Logger } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
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
import { createDispatcher } from './dispatcher.ts';
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

const dispatcher = (clientFor?: TwilioClientFor) =>
  createDispatcher({
    database: t.database,
    config: t.config,
    logger: t.app.log as unknown as Logger,
    quotas,
    ...(clientFor ? { clientFor } : {}),
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
  const live = async () => {
    const u = await t.app.inject({ url: '/api/orgs/current/usage', headers: as(...who) });
    return u.json().live_calls.live as number;
  };
  return { id: s.id, phone, live };
}

/** The first attempt: Twilio places the call, the dispatcher never hears; its lease runs out. */
async function maybeLiveAttempt(id: string): Promise<FakeCall> {
  await dispatcher(answerLost()).runOnce();
  expect(await scheduledCallRow(t.database, id)).toMatchObject({
    status: 'dispatching',
    attempts: 1,
  });
  await withSystem(t.database, (tx) =>
    tx
      .updateTable('scheduled_calls')
      .set({ lease_expires_at: new Date(Date.now() - 1000) })
      .where('id', '=', id)
      .execute(),
  );
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

it('a retry of a maybe-live call takes a slot of its own: at the limit it waits', async () => {
  const { id, phone, live } = await orgWithDueCall(1);
  const first = await maybeLiveAttempt(id);
  expect(await live()).toBe(1);

  // The lease runs out, the call goes back to the queue and is claimed again at once: the first
  // attempt's call may be live, holding the org's one slot. The retry must not be placed.
  await dispatcher().runOnce();
  expect(fake.calls.filter((c) => c.scheduledCallId === id)).toHaveLength(1);
  const waiting = await scheduledCallRow(t.database, id);
  expect(waiting).toMatchObject({ status: 'pending', attempts: 1 });
  expect(waiting.last_error).toMatch(/Waiting for a free call slot: 1 of 1/);
  expect(await live()).toBe(1);

  // The first attempt's call ends: its slot goes back, and the call it placed settles the row.
  await completed(first, phone.number);
  expect(await live()).toBe(0);
  await makeScheduledCallDue(t.database, id);
  await dispatcher().runOnce();
  expect(fake.calls.filter((c) => c.scheduledCallId === id)).toHaveLength(1);
  expect(await scheduledCallRow(t.database, id)).toMatchObject({
    status: 'dispatched',
    call_sid: first.sid,
  });
});

it("neither attempt's end nor failure gives back the other's slot", async () => {
  const { id, phone, live } = await orgWithDueCall(5);
  const first = await maybeLiveAttempt(id);

  // The retry fails with a definite answer: its own slot goes back, not the maybe-live call's.
  fake.failNext(1, 503);
  await dispatcher().runOnce();
  expect(await scheduledCallRow(t.database, id)).toMatchObject({
    status: 'pending',
    attempts: 2,
  });
  expect(await live()).toBe(1);

  // The next retry is placed (two calls may now be live: two slots).
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
  expect(await live()).toBe(2);

  // The first attempt's call ends: the second's slot is still held while it is live.
  await completed(first, phone.number);
  expect(await live()).toBe(1);
  await completed(second, phone.number);
  expect(await live()).toBe(0);
});
