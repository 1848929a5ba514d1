// The scheduled-call dispatcher on the embedded database, against the fake Twilio REST server and
// the real `twilio` client: placing, retries with backoff, permanent failures, callbacks settling
// an attempt, lease recovery without placing a call twice, and restarts.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { withSystem } from '../db/tenant.ts';
import { newId } from '../http/ids.ts';
import { as, buildTestApp, type TestApp } from '../test/app.ts';
import { createTeam } from '../test/factories.ts';
import { type FakeTwilio, startFakeTwilio } from '../test/fake-twilio.ts';
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
} from '../test/twilio.ts';
import { claimDueCalls, INTERRUPTED, recoverExpiredLeases } from './dispatch.repository.ts';
import { backoffMs, classifyDispatchError } from './dispatcher.ts';

const ORG_SID = `AC${'c'.repeat(32)}`;
const ORG_TOKEN = 'orgctoken0123456789abcdef0123456';

let fake: FakeTwilio;
let t: TestApp;
let a: Awaited<ReturnType<typeof createTeam>>;
let phone: { id: string; number: string };
let agent: { id: string };

// A timeout far above any answer of the fake's, however loaded the machine: a slow answer past it
// would rightly make a call "maybe placed" (not retried at once), which only the timeout case
// below wants, with a short timeout of its own.
const env = (extra: Record<string, string> = {}) =>
  twilioEnv({
    TWILIO_API_URL: fake.url,
    TWILIO_TIMEOUT_MS: '15000',
    DISPATCHER_LEASE_SECONDS: '30',
    DISPATCHER_RETRY_BASE_MS: '10',
    DISPATCHER_MAX_ATTEMPTS: '3',
    ...extra,
  });

beforeAll(async () => {
  fake = await startFakeTwilio({ [PLATFORM_SID]: PLATFORM_TOKEN, [ORG_SID]: ORG_TOKEN });
  t = await buildTestApp({ headerAuth: true, env: env() });
  a = await createTeam(t.database);
  ({ phone, agent } = await callingAgent(t, [a.owner, a.org, 'owner'], {
    name: 'Caller',
    greeting: 'Hello from Acme',
    media_stream_url: 'wss://worker.example.test/media',
  }));
});
afterAll(async () => {
  await t.close();
  await fake.close();
});
afterEach(() => {
  fake.failNext(0);
  fake.delayMs = 0;
});

/** Schedule through the API, then make it due now (the API only accepts future times). */
async function dueCall(
  to = '+14155550100',
  who: [{ id: string }, { id: string }, 'owner'] = [a.owner, a.org, 'owner'],
  agentId = agent.id,
) {
  const s = await create(t.app, '/api/scheduled-calls', who, {
    agent_id: agentId,
    to,
    scheduled_at: new Date(Date.now() + 60_000).toISOString(),
  });
  await makeDue(s.id);
  return s;
}
const makeDue = (id: string) => makeScheduledCallDue(t.database, id);
/** PATCH a new scheduled_at (an hour on), as the owner. */
const reschedule = (id: string) =>
  t.app.inject({
    method: 'PATCH',
    url: `/api/scheduled-calls/${id}`,
    headers: as(a.owner, a.org, 'owner'),
    payload: { scheduled_at: new Date(Date.now() + 3_600_000).toISOString() },
  });
const row = (id: string) => scheduledCallRow(t.database, id);
/** Twilio's status callback of an attempt (its dispatch key) for the outbound call `sid` to `to`. */
const attemptCallback = (
  id: string,
  dispatchKey: string,
  c: { sid: string; to: string; status: 'initiated' | 'ringing' },
) =>
  twilioPost(
    t.app,
    `/webhooks/twilio/status?scheduled_call_id=${id}&dispatch_key=${dispatchKey}`,
    callParams({
      CallSid: c.sid,
      From: phone.number,
      To: c.to,
      Direction: 'outbound-api',
      CallStatus: c.status,
    }),
  );
/** The claim's lease runs out (written, not waited for). */
const expireLease = (id: string) =>
  withSystem(t.database, (tx) =>
    tx
      .updateTable('scheduled_calls')
      .set({ lease_expires_at: new Date(Date.now() - 1000) })
      .where('id', '=', id)
      .execute(),
  );
/** A claim whose lease runs out before anything is heard of it; recovery gives the row back. */
async function claimedThenRecovered(id: string) {
  const [claim] = await withSystem(t.database, (tx) => claimDueCalls(tx, 1, 5));
  expect(claim?.id).toBe(id);
  await expireLease(id);
  await withSystem(t.database, (tx) => recoverExpiredLeases(tx, 10, 3));
  return claim!;
}
const placed = (id: string) => fake.calls.filter((c) => c.scheduledCallId === id);
const pathOf = (url: string) => url.slice(PUBLIC_URL.length);

describe('placing a due call', () => {
  it('calls.create with the TwiML and status URLs; dispatched once with its call sid', async () => {
    const s = await dueCall('+14155550123');
    expect(await t.app.dispatcher.runOnce()).toBeGreaterThanOrEqual(1);
    const calls = placed(s.id);
    expect(calls).toHaveLength(1);
    const c = calls[0]!;
    expect(c).toMatchObject({ accountSid: PLATFORM_SID, to: '+14155550123', from: phone.number });
    expect(c.url).toBe(
      `${PUBLIC_URL}/webhooks/twilio/voice?scheduled_call_id=${s.id}&dispatch_key=${c.dispatchKey}`,
    );
    expect(c.statusCallback).toBe(
      `${PUBLIC_URL}/webhooks/twilio/status?scheduled_call_id=${s.id}&dispatch_key=${c.dispatchKey}`,
    );
    expect(c.statusCallbackEvents).toEqual(['initiated', 'ringing', 'answered', 'completed']);
    expect(await row(s.id)).toMatchObject({
      status: 'dispatched',
      call_sid: c.sid,
      attempts: 1,
      last_error: null,
      lease_expires_at: null,
    });
    const api = await t.app.inject({
      url: `/api/scheduled-calls/${s.id}`,
      headers: as(a.owner, a.org, 'owner'),
    });
    expect(api.json()).toMatchObject({ status: 'dispatched', call_sid: c.sid });
    const log = await t.app.inject({
      url: `/api/calls/${c.sid}`,
      headers: as(a.owner, a.org, 'owner'),
    });
    expect(log.json()).toMatchObject({
      direction: 'outbound',
      scheduled_call_id: s.id,
      agent_id: agent.id,
      phone_id: phone.id,
      status: 'queued',
    });
    await t.app.dispatcher.runOnce();
    expect(placed(s.id)).toHaveLength(1);
  });

  it('does not place a call before its time, nor a cancelled one', async () => {
    const later = await create(t.app, '/api/scheduled-calls', [a.owner, a.org, 'owner'], {
      agent_id: agent.id,
      to: '+14155550124',
      scheduled_at: new Date(Date.now() + 3_600_000).toISOString(),
    });
    const cancelled = await dueCall('+14155550125');
    await t.app.inject({
      method: 'POST',
      url: `/api/scheduled-calls/${cancelled.id}/cancel`,
      headers: as(a.owner, a.org, 'owner'),
    });
    await t.app.dispatcher.runOnce();
    expect(placed(later.id)).toHaveLength(0);
    expect(placed(cancelled.id)).toHaveLength(0);
    expect((await row(later.id)).status).toBe('pending');
    expect((await row(cancelled.id)).status).toBe('cancelled');
  });

  it("uses the org's own Twilio account when it has one", async () => {
    const c = await createTeam(t.database);
    await t.app.inject({
      method: 'PUT',
      url: '/api/twilio/credentials',
      headers: as(c.owner, c.org, 'owner'),
      payload: { account_sid: ORG_SID, auth_token: ORG_TOKEN },
    });
    const { agent: ag } = await callingAgent(t, [c.owner, c.org, 'owner'], {
      name: 'c',
    });
    const s = await dueCall('+14155550126', [c.owner, c.org, 'owner'], ag.id);
    await t.app.dispatcher.runOnce();
    expect(placed(s.id).map((x) => x.accountSid)).toEqual([ORG_SID]);
    expect((await row(s.id)).status).toBe('dispatched');
  });
});

describe('failures', () => {
  it('retries with backoff until Twilio accepts', async () => {
    const s = await dueCall('+14155550130');
    fake.failNext(2, 503);
    await t.app.dispatcher.runOnce();
    let r = await row(s.id);
    expect(r).toMatchObject({ status: 'pending', attempts: 1 });
    expect(r.last_error).toMatch(/^Twilio 503 \(20503\)/);
    expect(r.next_attempt_at.getTime()).toBeGreaterThan(Date.now() - 1000);
    // The backoff's wait is over (made due, not slept through: no test waits on the clock).
    for (let i = 0; i < 2; i++) {
      await makeDue(s.id);
      await t.app.dispatcher.runOnce();
    }
    r = await row(s.id);
    expect(r).toMatchObject({ status: 'dispatched', attempts: 3, last_error: null });
    expect(placed(s.id)).toHaveLength(1);
  });

  it('fails with the reason once out of attempts', async () => {
    const s = await dueCall('+14155550131');
    fake.failNext(10, 500, 20500);
    for (let i = 0; i < 5; i++) {
      await t.app.dispatcher.runOnce();
      await makeDue(s.id);
    }
    const r = await row(s.id);
    expect(r).toMatchObject({ status: 'failed', attempts: 3 });
    expect(r.last_error).toMatch(/^Twilio 500 \(20500\)/);
    expect(placed(s.id)).toHaveLength(0);
  });

  it('a call given a new time after failed attempts has as many tries as a new one', async () => {
    const s = await dueCall('+14155550134');
    fake.failNext(2, 503);
    await t.app.dispatcher.runOnce();
    await makeDue(s.id);
    await t.app.dispatcher.runOnce();
    expect(await row(s.id)).toMatchObject({ status: 'pending', attempts: 2 });
    const res = await reschedule(s.id);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ status: 'pending', attempts: 0, last_error: null });
    // Two more failures (three would fail a new call): retried, then placed at the third try.
    fake.failNext(2, 503);
    for (let i = 0; i < 3; i++) {
      await makeDue(s.id);
      await t.app.dispatcher.runOnce();
    }
    expect(await row(s.id)).toMatchObject({ status: 'dispatched', attempts: 3, last_error: null });
    expect(placed(s.id)).toHaveLength(1);
  });

  it('a 4xx from Twilio (a number it refuses) fails at once, without retrying', async () => {
    const s = await dueCall('+14155550132');
    fake.failNext(1, 400, 21211);
    await t.app.dispatcher.runOnce();
    const r = await row(s.id);
    expect(r).toMatchObject({ status: 'failed', attempts: 1 });
    expect(r.last_error).toMatch(/^Twilio 400 \(21211\)/);
  });

  it('a deactivated agent or a deleted phone fails the call without asking Twilio', async () => {
    const { agent: ag } = await callingAgent(t, [a.owner, a.org, 'owner'], {
      name: 'soon off',
    });
    const s1 = await dueCall('+14155550133', undefined, ag.id);
    await t.app.inject({
      method: 'PATCH',
      url: `/api/agents/${ag.id}`,
      headers: as(a.owner, a.org, 'owner'),
      payload: { active: false },
    });
    const before = fake.requests;
    await t.app.dispatcher.runOnce();
    expect(fake.requests).toBe(before);
    expect(await row(s1.id)).toMatchObject({ status: 'failed' });
    expect((await row(s1.id)).last_error).toMatch(/agent/);
  });

  it('an agent that lost its media_stream_url fails the call without asking Twilio', async () => {
    const { agent: ag } = await callingAgent(t, [a.owner, a.org, 'owner'], {
      name: 'soon silent',
    });
    const s = await dueCall('+14155550134', undefined, ag.id);
    const cleared = await t.app.inject({
      method: 'PATCH',
      url: `/api/agents/${ag.id}`,
      headers: as(a.owner, a.org, 'owner'),
      payload: { media_stream_url: null },
    });
    expect(cleared.statusCode, cleared.body).toBe(200);
    const before = fake.requests;
    await t.app.dispatcher.runOnce();
    // Answered, the call would have heard "no agent" and ended: it is never placed.
    expect(fake.requests).toBe(before);
    expect(await row(s.id)).toMatchObject({
      status: 'failed',
      last_error: 'The agent has no media_stream_url: the call would reach no agent',
    });
  });

  it('classifies errors: definite answers retry or fail, no answer waits for the lease', () => {
    expect(
      classifyDispatchError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })).kind,
    ).toBe('retry');
    expect(
      classifyDispatchError(Object.assign(new Error('x'), { code: 'ECONNABORTED' })).kind,
    ).toBe('unknown');
    expect(classifyDispatchError(new Error('socket hang up')).kind).toBe('unknown');
    expect(backoffMs(1, 1000)).toBe(1000);
    expect(backoffMs(3, 1000)).toBe(4000);
    expect(backoffMs(30, 1000)).toBe(3_600_000);
  });
});

describe('exactly once across crashes', () => {
  it("Twilio's callbacks settle the attempt that placed the call and drive the call log", async () => {
    const s = await dueCall('+14155550140');
    await t.app.dispatcher.runOnce();
    const c = placed(s.id)[0]!;
    const status = callParams({
      CallSid: c.sid,
      From: phone.number,
      To: c.to,
      Direction: 'outbound-api',
      CallStatus: 'in-progress',
    });
    // The callee answers: Twilio fetches the TwiML URL, then sends status callbacks.
    const voice = await twilioPost(t.app, pathOf(c.url), status);
    expect(voice.statusCode).toBe(200);
    expect(voice.body).toContain('<Say>Hello from Acme</Say>');
    expect(voice.body).toContain('<Stream url="wss://worker.example.test/media">');
    const done = await twilioPost(t.app, pathOf(c.statusCallback!), {
      ...status,
      CallStatus: 'completed',
      CallDuration: '33',
    });
    expect(done.statusCode).toBe(204);
    const log = await t.app.inject({
      url: `/api/calls/${c.sid}`,
      headers: as(a.owner, a.org, 'owner'),
    });
    expect(log.json()).toMatchObject({
      status: 'completed',
      duration_seconds: 33,
      scheduled_call_id: s.id,
    });
    expect(log.json().answered_at).not.toBeNull();
  });

  it('an instance that died after Twilio accepted: the callback settles it; the lease then places nothing', async () => {
    const s = await dueCall('+14155550141');
    // This "instance" claims the call, places it, and dies before recording anything.
    const [claimed] = await withSystem(t.database, (tx) => claimDueCalls(tx, 1, 5));
    expect(claimed?.id).toBe(s.id);
    const claim = claimed!;
    const sid = `CA${'d'.repeat(32)}`;
    const cb = await attemptCallback(s.id, claim.dispatch_key, {
      sid,
      to: claim.to_number,
      status: 'initiated',
    });
    expect(cb.statusCode).toBe(204);
    expect(await row(s.id)).toMatchObject({ status: 'dispatched', call_sid: sid });
    await expireLease(s.id);
    await t.app.dispatcher.runOnce();
    expect(placed(s.id)).toHaveLength(0);
    expect(await row(s.id)).toMatchObject({ status: 'dispatched', call_sid: sid });
  });

  it('a callback of an attempt whose lease expired still stops the call being placed again', async () => {
    const s = await dueCall('+14155550142');
    // Recovery (no callback yet) returns it to the queue...
    const claim = await claimedThenRecovered(s.id);
    expect(await row(s.id)).toMatchObject({ status: 'pending', last_error: INTERRUPTED });
    // ...then the attempt's callback arrives: that attempt placed the call; it is settled.
    const sid = `CA${'e'.repeat(32)}`;
    await attemptCallback(s.id, claim.dispatch_key, {
      sid,
      to: claim.to_number,
      status: 'ringing',
    });
    await t.app.dispatcher.runOnce();
    expect(placed(s.id)).toHaveLength(0);
    // Placed after all: the recovery's error no longer says anything true.
    expect(await row(s.id)).toMatchObject({
      status: 'dispatched',
      call_sid: sid,
      last_error: null,
    });
  });

  it('a new time after an expired lease keeps its key: a late callback still stops a second call', async () => {
    const s = await dueCall('+14155550146');
    const claim = await claimedThenRecovered(s.id);
    expect(await row(s.id)).toMatchObject({ status: 'pending', attempts: 1 });
    // Rescheduled while that attempt's call may be live: the attempt is given back, its key kept.
    const res = await reschedule(s.id);
    expect(res.statusCode, res.body).toBe(200);
    expect(await row(s.id)).toMatchObject({
      status: 'pending',
      attempts: 0,
      dispatch_key: claim.dispatch_key,
    });
    // The attempt did place its call: its callback settles the row, nothing is placed again.
    const sid = `CA${'7'.repeat(32)}`;
    await attemptCallback(s.id, claim.dispatch_key, {
      sid,
      to: claim.to_number,
      status: 'ringing',
    });
    await makeDue(s.id);
    await t.app.dispatcher.runOnce();
    expect(placed(s.id)).toHaveLength(0);
    expect(await row(s.id)).toMatchObject({ status: 'dispatched', call_sid: sid });
  });

  it('a claim finds a call logged by an older attempt and does not place another', async () => {
    const s = await dueCall('+14155550145');
    // A callback carrying a key that is not the current one (an attempt before the last claim).
    const sid = `CA${'f'.repeat(32)}`;
    const cb = await attemptCallback(s.id, newId(), {
      sid,
      to: '+14155550145',
      status: 'initiated',
    });
    expect(cb.statusCode).toBe(204);
    expect((await row(s.id)).status).toBe('pending');
    await t.app.dispatcher.runOnce();
    expect(placed(s.id)).toHaveLength(0);
    expect(await row(s.id)).toMatchObject({ status: 'dispatched', call_sid: sid, attempts: 1 });
  });

  it('an expired lease with no sign of a call goes back to the queue and is placed once', async () => {
    const s = await dueCall('+14155550143');
    await withSystem(t.database, (tx) => claimDueCalls(tx, 1, 5));
    await expireLease(s.id);
    await t.app.dispatcher.runOnce(); // recovers (pending, due now) and claims it again
    await t.app.dispatcher.runOnce();
    expect(placed(s.id)).toHaveLength(1);
    expect(await row(s.id)).toMatchObject({ status: 'dispatched', attempts: 2, last_error: null });
  });

  it('a request that times out is "maybe placed": not retried at once; its callback settles it', async () => {
    const s = await dueCall('+14155550144');
    // An instance whose client gives up after 400 ms, on the same database.
    const impatient = await buildTestApp({
      headerAuth: true,
      database: t.database,
      env: env({ TWILIO_TIMEOUT_MS: '400' }),
    });
    try {
      fake.delayMs = 900; // longer than its timeout: the client gives up, Twilio (the fake) accepts
      await impatient.app.dispatcher.runOnce();
      expect(await row(s.id)).toMatchObject({ status: 'dispatching', attempts: 1 });
      // The fake accepts the call once its delay is over, after the client gave up.
      const until = Date.now() + 10_000;
      while (placed(s.id).length === 0 && Date.now() < until) {
        await new Promise((res) => setTimeout(res, 50));
      }
      const c = placed(s.id)[0]!;
      expect(c).toBeDefined();
      fake.delayMs = 0;
      await impatient.app.dispatcher.runOnce();
      expect(placed(s.id)).toHaveLength(1);
      await twilioPost(
        t.app,
        pathOf(c.statusCallback!),
        callParams({
          CallSid: c.sid,
          From: phone.number,
          To: c.to,
          Direction: 'outbound-api',
          CallStatus: 'initiated',
        }),
      );
      expect(await row(s.id)).toMatchObject({ status: 'dispatched', call_sid: c.sid });
    } finally {
      await impatient.close();
    }
  });
});

describe('the job runner', () => {
  it('runs in the app, survives a restart (state is in the database), places each call once', async () => {
    // Scheduled while no dispatcher runs (t has it disabled)...
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push((await dueCall(`+1415555016${i % 10}`)).id);
    // ...then a new instance with the runner on picks them up.
    const runner = await buildTestApp({
      headerAuth: true,
      database: t.database,
      env: env({
        DISPATCHER_ENABLED: 'true',
        DISPATCHER_POLL_MS: '20',
        DISPATCHER_BATCH_SIZE: '5',
        DISPATCHER_LEASE_SECONDS: '60',
      }),
    });
    try {
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        const rows = await withSystem(t.database, (tx) =>
          tx.selectFrom('scheduled_calls').select('status').where('id', 'in', ids).execute(),
        );
        if (rows.every((r) => r.status === 'dispatched')) break;
        await new Promise((res) => setTimeout(res, 50));
      }
    } finally {
      await runner.close();
    }
    for (const id of ids) expect(placed(id), id).toHaveLength(1);
  });
});
