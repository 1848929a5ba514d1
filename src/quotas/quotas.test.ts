// Concurrency quotas over HTTP, sockets and the fakes: each issue point refuses at the org's
// limit and gives the slot back on its end event (incoming call → busy TwiML, released by the
// status callback; dispatch → waits, not failed, attempt not counted; LiveKit token → 429
// quota_exceeded, released by participant_left; device socket → 1013, released on close), the
// share reserved for inbound, the daily count, lease expiry (an injected clock), a second
// instance over the same counters, and the limits API (roles, bounds, audit, isolation). With
// REDIS_URL set the counter is Redis; without, the database.
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { withSystem } from '../db/tenant.ts';
import { openRedis } from '../infra/redis.ts';
import { buildTestApp, type TestApp, testConfig } from '../test/app.ts';
import { createTestDatabase, type TestDatabase } from '../test/db.ts';
import { mustOpen, recordingStream, refusal } from '../test/device-sockets.ts';
import { createVerifiedPhone } from '../test/factories.ts';
import { type FakeLiveKit, startFakeLiveKit } from '../test/fake-livekit.ts';
import { type FakeTwilio, fakeSid, startFakeTwilio } from '../test/fake-twilio.ts';
import { postWebhook } from '../test/livekit-helpers.ts';
import { auditOf, createKey, type Team, team } from '../test/org-helpers.ts';
import { deleteKeysUnder } from '../test/redis.ts';
import {
  callParams,
  makeScheduledCallDue,
  PLATFORM_SID,
  PLATFORM_TOKEN,
  scheduledCallRow,
  streamingAgent,
  twilioEnv,
  twilioPost,
} from '../test/twilio.ts';
import { createQuotas, nextUtcMidnight, type Quotas } from './quotas.service.ts';

const REDIS_URL = process.env.REDIS_URL;
const MEDIA_URL = 'wss://worker.example.test/media';

let twilio: FakeTwilio;
let livekit: FakeLiveKit;
let database: TestDatabase;
let redis: Redis | undefined;
let t: TestApp;
let instance2: TestApp;
let ws: string;
/** The quotas' clock runs this far ahead of the wall clock (lease expiry without waiting). */
let ahead = 0;
let sharedPrefix = '';
let env: Record<string, string>;

function quotasFor(config: ReturnType<typeof testConfig>): Quotas {
  return createQuotas({ database, config, redis, now: () => Date.now() + ahead });
}

beforeAll(async () => {
  twilio = await startFakeTwilio({ [PLATFORM_SID]: PLATFORM_TOKEN });
  livekit = await startFakeLiveKit();
  database = await createTestDatabase();
  if (REDIS_URL) {
    redis = openRedis(REDIS_URL);
    await new Promise((resolve) => redis!.once('ready', resolve));
  }
  env = twilioEnv({ ...livekit.env, TWILIO_API_URL: twilio.url, TWILIO_TIMEOUT_MS: '2000' });
  // Both instances count in the same place: one database, and one Redis key prefix.
  const shared = testConfig(env);
  sharedPrefix = shared.redisKeyPrefix;
  const rec = recordingStream();
  t = await buildTestApp({
    env,
    database,
    deps: { audioStream: rec.handler, quotas: quotasFor(shared) },
  });
  instance2 = await buildTestApp({ env, database, deps: { quotas: quotasFor(shared) } });
  livekit.deliver = async (w) => (await postWebhook(t, w)).statusCode;
  ws = (await t.app.listen({ host: '127.0.0.1', port: 0 })).replace(/^http/, 'ws');
});
// A test that fails between a spy and its mockRestore() leaves no spy to the next one.
afterEach(() => {
  vi.restoreAllMocks();
});
afterAll(async () => {
  await instance2?.close();
  await t?.close();
  if (redis) {
    await deleteKeysUnder(redis, sharedPrefix);
    await redis.quit();
  }
  await database?.close();
  await twilio?.close();
  await livekit?.close();
});

type Limits = Partial<Record<string, number | null>>;
const NO_LIMITS = {
  max_live_calls: null,
  inbound_reserved_calls: null,
  max_voice_sessions: null,
  max_device_sockets: null,
  max_scheduled_calls_per_day: null,
};

function putQuotas(who: { headers: Record<string, string> }, payload: object) {
  return t.app.inject({
    method: 'PUT',
    url: '/api/orgs/current/quotas',
    headers: who.headers,
    payload,
  });
}

async function setLimits(who: { headers: Record<string, string> }, limits: Limits) {
  const res = await putQuotas(who, { ...NO_LIMITS, ...limits });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

async function usage(who: { headers: Record<string, string> }, app = t.app) {
  const res = await app.inject({ url: '/api/orgs/current/usage', headers: who.headers });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

const voice = (to: string, over: Record<string, string> = {}) =>
  twilioPost(t.app, '/webhooks/twilio/voice', callParams({ To: to, ...over }));
const ended = (callSid: string, to: string, status = 'completed') =>
  twilioPost(
    t.app,
    '/webhooks/twilio/status',
    callParams({ CallSid: callSid, To: to, CallStatus: status, CallDuration: '12' }),
  );
const connects = (twiml: string) => twiml.includes('<Stream') && twiml.includes('name="token"');
const busy = (twiml: string) => twiml.includes('lines are busy') && twiml.includes('<Hangup/>');

describe('the limits: GET/PUT /api/orgs/current/quotas', () => {
  let a: Team;
  let b: Team;
  beforeAll(async () => {
    a = await team(t, 'Quota limits A');
    b = await team(t, 'Quota limits B');
  });

  it("everyone reads the platform's limits as the org's until it sets its own", async () => {
    const res = await t.app.inject({ url: '/api/orgs/current/quotas', headers: a.member.headers });
    expect(res.statusCode).toBe(200);
    const q = res.json();
    // The test config's platform quotas (src/test/app.ts), the defaults otherwise.
    expect(q.platform).toEqual({
      max_live_calls: 10_000,
      inbound_reserved_calls: 10,
      max_voice_sessions: 10_000,
      max_device_sockets: 10_000,
      max_scheduled_calls_per_day: 100_000,
    });
    expect(q.limits).toEqual(q.platform);
    expect(q.org).toEqual(NO_LIMITS);
    // With REDIS_URL the counts live in Redis; without it in the database, or on the embedded
    // one in the memory of the process that owns it.
    const expected = REDIS_URL ? 'redis' : t.database.kind === 'pglite' ? 'embedded' : 'database';
    expect((await usage(a.member)).counter).toBe(expected);
  });

  it('owners and admins lower them (audited); managers, members and API keys may not', async () => {
    const q = await setLimits(a.admin, { max_live_calls: 5, inbound_reserved_calls: 2 });
    expect(q.limits).toMatchObject({ max_live_calls: 5, inbound_reserved_calls: 2 });
    expect(q.org.max_voice_sessions).toBeNull();
    await setLimits(a.owner, { max_live_calls: 4, inbound_reserved_calls: 2 });
    const entry = (await auditOf(database, a.org.id)).filter(
      (e) => e.action === 'org.quotas_updated',
    );
    expect(entry).toHaveLength(2);
    expect(entry[1]!.metadata).toMatchObject({ max_live_calls: 4, previous_max_live_calls: 5 });
    expect(entry[1]!.actor_user_id).toBe(a.owner.user.id);

    const key = await createKey(t.app, a.owner, ['quotas:read']);
    for (const who of [a.manager, a.member, key]) {
      const res = await putQuotas(who, NO_LIMITS);
      expect(res.statusCode).toBe(403);
      expect(res.json().code).toBe('forbidden');
    }
    // The key reads the usage; a key without quotas:read does not.
    expect((await usage(key)).live_calls.limit).toBe(4);
    const other = await createKey(t.app, a.owner, ['org:read']);
    const denied = await t.app.inject({ url: '/api/orgs/current/usage', headers: other.headers });
    expect(denied.statusCode).toBe(403);
  });

  it('never above the platform bound, nor a reserved share above the maximum: 422', async () => {
    for (const [limits, field] of [
      [{ max_live_calls: 10_001 }, 'max_live_calls'],
      [{ max_device_sockets: 10_001 }, 'max_device_sockets'],
      [{ max_live_calls: 3, inbound_reserved_calls: 4 }, 'inbound_reserved_calls'],
      [{ inbound_reserved_calls: 11 }, 'inbound_reserved_calls'],
    ] as const) {
      const res = await putQuotas(a.owner, { ...NO_LIMITS, ...limits });
      expect(res.statusCode, JSON.stringify(limits)).toBe(422);
      expect(res.json().code).toBe('quota_above_platform_limit');
      expect(res.json().errors.map((e: { field: string }) => e.field)).toContain(field);
    }
    // Nothing was written.
    expect((await usage(a.owner)).live_calls.limit).toBe(4);
  });

  it('an inherited platform reserve above the requested maximum: 422, not 0 outbound calls', async () => {
    const r = await team(t, 'Quota inherited reserve');
    // The platform keeps 10 for inbound; the org's own reserve is null (inherited).
    const res = await putQuotas(r.owner, { ...NO_LIMITS, max_live_calls: 5 });
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json().code).toBe('quota_above_platform_limit');
    expect(res.json().errors).toEqual([
      {
        field: 'inbound_reserved_calls',
        message:
          "the platform's reserve of 10 is inherited and leaves no outbound calls under max_live_calls (5): set it to at most 5",
      },
    ]);
    // Nothing was written, nor audited.
    const q = (
      await t.app.inject({ url: '/api/orgs/current/quotas', headers: r.owner.headers })
    ).json();
    expect(q.org).toEqual(NO_LIMITS);
    expect(
      (await auditOf(database, r.org.id)).filter((e) => e.action === 'org.quotas_updated'),
    ).toHaveLength(0);

    // The reserve set explicitly: below the maximum, or equal to it (no outbound, on purpose).
    for (const reserved of [2, 5]) {
      const saved = await setLimits(r.owner, {
        max_live_calls: 5,
        inbound_reserved_calls: reserved,
      });
      expect(saved.limits).toMatchObject({ max_live_calls: 5, inbound_reserved_calls: reserved });
    }
    // An inherited reserve equal to the maximum leaves no outbound call either: refused too.
    const equal = await putQuotas(r.owner, { ...NO_LIMITS, max_live_calls: 10 });
    expect(equal.statusCode, equal.body).toBe(422);
    expect(equal.json().errors[0].field).toBe('inbound_reserved_calls');
    // No calls at all, on purpose: nothing to say about the reserve.
    const none = await setLimits(r.owner, { max_live_calls: 0 });
    expect(none.limits).toMatchObject({ max_live_calls: 0, inbound_reserved_calls: 0 });
    // A maximum above the inherited reserve leaves outbound slots: allowed.
    const inherited = await setLimits(r.owner, { max_live_calls: 11 });
    expect(inherited.limits).toMatchObject({ max_live_calls: 11, inbound_reserved_calls: 10 });
  });

  it('an org setting saved under a higher platform limit yields when the operator lowers it', async () => {
    const c = await team(t, 'Quota ceiling');
    await setLimits(c.owner, {
      max_live_calls: 40,
      inbound_reserved_calls: 8,
      max_voice_sessions: 50,
    });
    // Every login of the team minted a room token, each holding a voice-session slot.
    const held = (await usage(c.member)).voice_sessions.live as number;
    const ceiling = held + 2;
    const loweredConfig = testConfig({
      ...env,
      QUOTA_MAX_LIVE_CALLS: '20',
      QUOTA_INBOUND_RESERVED_CALLS: '5',
      QUOTA_MAX_VOICE_SESSIONS: String(ceiling),
    });
    // Counting where the running instances count (one Redis key prefix), with lower limits.
    const quotas = quotasFor({ ...loweredConfig, redisKeyPrefix: sharedPrefix });
    const lowered = await buildTestApp({ env, database, deps: { quotas } });
    try {
      const q = (
        await lowered.app.inject({ url: '/api/orgs/current/quotas', headers: c.owner.headers })
      ).json();
      // The org's own settings are kept (shown as saved), the platform's values bound them.
      expect(q.org).toMatchObject({ max_live_calls: 40, max_voice_sessions: 50 });
      expect(q.limits).toMatchObject({
        max_live_calls: 20,
        inbound_reserved_calls: 5,
        max_voice_sessions: ceiling,
      });
      expect((await usage(c.member, lowered.app)).voice_sessions.limit).toBe(ceiling);
      const taken = [];
      for (let i = 0; i < 3; i++) {
        taken.push((await quotas.acquire(c.org.id, 'voice_sessions', `ceiling-${i}`)).ok);
      }
      expect(taken).toEqual([true, true, false]);
      await quotas.release(
        c.org.id,
        'voice_sessions',
        taken.map((_, i) => `ceiling-${i}`),
      );
    } finally {
      await lowered.close();
    }
  });

  it('rejects unknown fields, missing fields and negative numbers with a 400', async () => {
    for (const payload of [
      { ...NO_LIMITS, max_everything: 1 },
      { max_live_calls: 1 },
      { ...NO_LIMITS, max_live_calls: -1 },
      { ...NO_LIMITS, max_live_calls: 'many' },
    ]) {
      const res = await putQuotas(a.owner, payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
    }
    expect((await t.app.inject({ url: '/api/orgs/current/usage' })).statusCode, 'anonymous').toBe(
      401,
    );
  });

  it("one org's limits never touch another's", async () => {
    const q = (
      await t.app.inject({ url: '/api/orgs/current/quotas', headers: b.owner.headers })
    ).json();
    expect(q.org).toEqual(NO_LIMITS);
    expect((await usage(b.member)).live_calls.limit).toBe(10_000);
  });
});

describe('incoming calls: TwiML issue, status-callback release', () => {
  let a: Team;
  let number: string;
  beforeAll(async () => {
    a = await team(t, 'Quota calls');
    number = (await streamingAgent(t, a.owner.headers, MEDIA_URL)).phoneNumber;
    await setLimits(a.owner, { max_live_calls: 2, inbound_reserved_calls: 0 });
  });
  const call = async (sid = fakeSid('CA'), app = t.app) => {
    const res = await twilioPost(
      app,
      '/webhooks/twilio/voice',
      callParams({ To: number, CallSid: sid }),
    );
    expect(res.statusCode).toBe(200);
    return { sid, twiml: res.body };
  };

  it('connects up to the limit, then answers busy; released by the end status, on either instance', async () => {
    const first = await call();
    const second = await call();
    expect(connects(first.twiml)).toBe(true);
    expect(connects(second.twiml)).toBe(true);
    const third = await call();
    expect(busy(third.twiml)).toBe(true);
    expect(third.twiml).not.toContain('<Stream');
    // Twilio retrying an admitted call's webhook is answered the same way (the slot is its own).
    expect(connects((await call(first.sid)).twiml)).toBe(true);
    expect((await usage(a.member)).live_calls).toMatchObject({ live: 2, limit: 2 });
    // The second instance counts the same calls.
    expect((await usage(a.member, instance2.app)).live_calls.live).toBe(2);
    expect(busy((await call(undefined, instance2.app)).twiml)).toBe(true);

    // Not an end: nothing is released.
    expect((await ended(first.sid, number, 'in-progress')).statusCode).toBe(204);
    expect((await usage(a.owner)).live_calls.live).toBe(2);
    expect((await ended(first.sid, number, 'completed')).statusCode).toBe(204);
    expect((await ended(first.sid, number, 'completed')).statusCode).toBe(204); // a retry
    expect((await usage(a.owner)).live_calls.live).toBe(1);
    const fourth = await call(undefined, instance2.app);
    expect(connects(fourth.twiml)).toBe(true);
    expect(busy((await call()).twiml)).toBe(true);
    // Every ending status releases.
    await ended(second.sid, number, 'no-answer');
    await ended(fourth.sid, number, 'canceled');
    expect((await usage(a.owner)).live_calls.live).toBe(0);
    for (const status of ['busy', 'failed']) {
      const c = await call();
      expect(connects(c.twiml)).toBe(true);
      await ended(c.sid, number, status);
    }
    expect((await usage(a.owner)).live_calls.live).toBe(0);
  });
});

describe('scheduled calls: dispatch issue, retried later when refused', () => {
  let a: Team;
  let agentId: string;
  let from: string;
  let inboundNumber: string;
  beforeAll(async () => {
    a = await team(t, 'Quota dispatch');
    const phone = await createVerifiedPhone(t.app, database, a.owner.headers, {
      number: `+1415555${Math.floor(1000 + Math.random() * 8999)}`,
    });
    from = phone.number;
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/agents',
      headers: a.owner.headers,
      payload: {
        name: 'Caller',
        direction: 'outgoing',
        phone_id: phone.id,
        media_stream_url: MEDIA_URL,
      },
    });
    expect(res.statusCode, res.body).toBe(201);
    agentId = res.json().id;
    inboundNumber = (await streamingAgent(t, a.owner.headers, MEDIA_URL)).phoneNumber;
  });

  async function dueCall(): Promise<string> {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/scheduled-calls',
      headers: a.owner.headers,
      payload: {
        agent_id: agentId,
        to: '+14155550100',
        scheduled_at: new Date(Date.now() + 60_000).toISOString(),
      },
    });
    expect(res.statusCode, res.body).toBe(201);
    const id = res.json().id as string;
    await makeScheduledCallDue(database, id);
    return id;
  }

  /** Twilio's "completed" status callback for the call the fake placed for `id`. */
  async function complete(id: string) {
    const call = twilio.calls.find((c) => c.scheduledCallId === id)!;
    const url = new URL(call.statusCallback!);
    const res = await twilioPost(
      t.app,
      `${url.pathname}${url.search}`,
      callParams({
        CallSid: call.sid,
        From: from,
        To: call.to,
        CallStatus: 'completed',
        Direction: 'outbound-api',
      }),
      { signedUrl: call.statusCallback },
    );
    expect(res.statusCode).toBe(204);
  }

  it('outbound stops short of the share reserved for inbound; refused waits, attempt not counted', async () => {
    await setLimits(a.owner, { max_live_calls: 2, inbound_reserved_calls: 1 });
    const first = await dueCall();
    const waiting = await dueCall();
    const before = twilio.calls.length;
    await t.app.dispatcher.runOnce();
    expect(twilio.calls.length).toBe(before + 1);
    const rows = await Promise.all([first, waiting].map((id) => scheduledCallRow(database, id)));
    const placed = rows.find((r) => r.status === 'dispatched')!;
    const deferred = rows.find((r) => r.status === 'pending')!;
    expect(placed).toBeDefined();
    expect(deferred.attempts).toBe(0);
    expect(deferred.last_error).toMatch(/Waiting for a free call slot: 1 of 1/);
    expect(deferred.next_attempt_at.getTime()).toBeGreaterThan(Date.now() + 50_000);

    // The reserved slot still takes an incoming call.
    const inbound = await voice(inboundNumber);
    expect(connects(inbound.body)).toBe(true);
    expect((await usage(a.owner)).live_calls.live).toBe(2);
    expect(busy((await voice(inboundNumber)).body)).toBe(true);
    await ended(callParamsSid(inbound), inboundNumber);

    // The placed call ends: its slot goes back and the waiting call goes out.
    await complete(placed.id);
    expect((await usage(a.owner)).live_calls.live).toBe(0);
    await makeScheduledCallDue(database, deferred.id);
    await t.app.dispatcher.runOnce();
    const now = await scheduledCallRow(database, deferred.id);
    expect(now.status).toBe('dispatched');
    expect(now.attempts).toBe(1);
    await complete(deferred.id);
    expect((await usage(a.owner)).scheduled_calls_per_day.live).toBe(2);
  });

  it('the day count waits for 00:00 UTC', async () => {
    await setLimits(a.owner, { max_scheduled_calls_per_day: 3 });
    const id = await dueCall();
    const next = await dueCall();
    await t.app.dispatcher.runOnce();
    const rows = await Promise.all([id, next].map((x) => scheduledCallRow(database, x)));
    const deferred = rows.find((r) => r.status === 'pending')!;
    expect(deferred.last_error).toMatch(/Daily limit of 3 scheduled calls/);
    expect(deferred.next_attempt_at.getTime()).toBe(nextUtcMidnight(Date.now() + ahead));
    expect(deferred.attempts).toBe(0);
    // Its live-call slot was given back: only the placed call holds one.
    expect((await usage(a.owner)).live_calls.live).toBe(1);
    await complete(rows.find((r) => r.status === 'dispatched')!.id);
  });

  it('a call Twilio refused gives both slots back', async () => {
    await setLimits(a.owner, { max_scheduled_calls_per_day: 4 });
    const id = await dueCall();
    twilio.failNext(1, 400, 21211);
    await t.app.dispatcher.runOnce();
    expect((await scheduledCallRow(database, id)).status).toBe('failed');
    const u = await usage(a.owner);
    expect(u.live_calls.live).toBe(0);
    expect(u.scheduled_calls_per_day.live).toBe(3);
  });
});

function callParamsSid(res: { body: string }): string {
  // The media token's call is the one we sent; read it back from the TwiML's token claims.
  const token = /name="token" value="([^"]+)"/.exec(res.body)![1]!;
  const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
  return claims.call_sid ?? claims.sub;
}

describe('LiveKit: token issue, webhook release', () => {
  let a: Team;
  beforeAll(async () => {
    a = await team(t, 'Quota voice');
  });
  const token = (who: { headers: Record<string, string> }, room = 'standup') =>
    t.app.inject({
      method: 'POST',
      url: '/api/livekit/token',
      headers: who.headers,
      payload: { room_name: room },
    });

  it('issues up to the limit, then 429 quota_exceeded; participant_left frees the slot', async () => {
    // Every login also minted a token (held ISSUED hold seconds): start from what is live.
    const live = (await usage(a.owner)).voice_sessions.live as number;
    await setLimits(a.owner, { max_voice_sessions: live + 1 });
    const first = await token(a.member);
    expect(first.statusCode, first.body).toBe(200);
    const refused = await token(a.manager);
    expect(refused.statusCode).toBe(429);
    expect(refused.json().code).toBe('quota_exceeded');
    expect(refused.json().quota).toBe('voice_sessions');

    // The member joins (the hold extends to the call) and leaves: the slot is free again.
    const p = await livekit.join(first.json().livekit_token);
    expect((await token(a.manager)).statusCode).toBe(429);
    await livekit.leave(first.json().room_name, p.identity);
    const again = await token(a.manager);
    expect(again.statusCode, again.body).toBe(200);
  });

  it('room_finished and the revocation of the minting session free their slots too', async () => {
    const live = (await usage(a.owner)).voice_sessions.live as number;
    await setLimits(a.owner, { max_voice_sessions: live + 2 });
    const mine = await token(a.member, 'all-hands');
    const theirs = await token(a.admin, 'all-hands');
    expect([mine.statusCode, theirs.statusCode]).toEqual([200, 200]);
    await livekit.join(mine.json().livekit_token);
    await livekit.join(theirs.json().livekit_token);
    expect((await token(a.manager)).statusCode).toBe(429);
    await livekit.finishRoom(mine.json().room_name);
    expect((await usage(a.owner)).voice_sessions.live).toBe(live);

    // A login session's logout revokes what it minted (and frees the slot) at once.
    const held = await token(a.manager, 'one-on-one');
    expect(held.statusCode).toBe(200);
    expect((await usage(a.owner)).voice_sessions.live).toBe(live + 1);
    const out = await t.app.inject({
      method: 'POST',
      url: '/api/auth/logout',
      headers: a.manager.headers,
    });
    expect(out.statusCode).toBeLessThan(300);
    await t.app.livekit.idle();
    // The manager's login token (the personal room) went with it.
    expect((await usage(a.owner)).voice_sessions.live).toBeLessThanOrEqual(live - 1);
  });

  it('a participant who rejoins after its slot went to another is removed, its session ended quota_exceeded', async () => {
    const live = (await usage(a.owner)).voice_sessions.live as number;
    await setLimits(a.owner, { max_voice_sessions: live + 1 });
    const first = await token(a.member, 'rejoin-over');
    expect(first.statusCode, first.body).toBe(200);
    const { room_name: room, session_id: sessionId } = first.json();
    const sessionRow = () =>
      withSystem(database, (tx) =>
        tx.selectFrom('voice_sessions').selectAll().where('id', '=', sessionId).executeTakeFirst(),
      );
    const p = await livekit.join(first.json().livekit_token);
    await livekit.leave(room, p.identity);
    const left = await sessionRow();
    expect(left).toMatchObject({ status: 'ended', end_reason: 'left' });
    // The slot went back with the leave, and another person takes it.
    const other = await token(a.admin, 'rejoin-over');
    expect(other.statusCode, other.body).toBe(200);

    // The first token is still valid and joins again: the org has no slot for it.
    await livekit.join(first.json().livekit_token);
    expect(livekit.rooms.get(room)?.participants.has(p.identity)).toBe(false);
    // Its end and duration stay those of the visit before: the time away is not counted.
    expect(await sessionRow()).toMatchObject({
      status: 'ended',
      end_reason: 'quota_exceeded',
      ended_at: left!.ended_at,
      duration_seconds: left!.duration_seconds,
    });
    expect((await usage(a.owner)).voice_sessions.live).toBe(live + 1);
  });

  it('a first join after the issue hold lapsed and the slot went to another is removed too', async () => {
    await setLimits(a.owner, { max_voice_sessions: 10_000 });
    const late = await token(a.member, 'late-join');
    expect(late.statusCode, late.body).toBe(200);
    ahead += 121_000; // nobody joined within the issue hold: the slot went back
    // One slot left, and another person takes it.
    const live = (await usage(a.owner)).voice_sessions.live as number;
    await setLimits(a.owner, { max_voice_sessions: live + 1 });
    const other = await token(a.admin, 'late-join');
    expect(other.statusCode, other.body).toBe(200);
    const p = await livekit.join(late.json().livekit_token);
    expect(livekit.rooms.get(late.json().room_name)?.participants.has(p.identity)).toBe(false);
    const row = await withSystem(database, (tx) =>
      tx
        .selectFrom('voice_sessions')
        .selectAll()
        .where('id', '=', late.json().session_id)
        .executeTakeFirst(),
    );
    expect(row).toMatchObject({ status: 'ended', end_reason: 'quota_exceeded' });
    expect((await usage(a.owner)).voice_sessions.live).toBe(live + 1);
  });

  it("a join whose quota step never ran (the process stopped) is completed by LiveKit's retry", async () => {
    await setLimits(a.owner, { max_voice_sessions: 10_000 });
    const late = await token(a.member, 'crash-join');
    expect(late.statusCode, late.body).toBe(200);
    ahead += 121_000; // the issue hold lapsed: the slot went back
    const live = (await usage(a.owner)).voice_sessions.live as number;
    await setLimits(a.owner, { max_voice_sessions: live + 1 });
    expect((await token(a.admin, 'crash-join')).statusCode).toBe(200);
    // The join commits, and the instance stops before its quota step: no answer to LiveKit.
    const stop = vi
      .spyOn(t.app.quotas, 'acquire')
      .mockRejectedValueOnce(new Error('instance stopped'));
    const p = await livekit.join(late.json().livekit_token);
    stop.mockRestore();
    const first = livekit.deliveries.at(-1)!;
    expect(first).toMatchObject({ event: 'participant_joined' });
    expect(first.status).toBeGreaterThanOrEqual(500);
    const row = () =>
      withSystem(database, (tx) =>
        tx
          .selectFrom('voice_sessions')
          .selectAll()
          .where('id', '=', late.json().session_id)
          .executeTakeFirst(),
      );
    expect(await row()).toMatchObject({ status: 'active' });

    // LiveKit delivers the event again: the step runs, the org has no slot for it.
    expect((await postWebhook(t, first.webhook)).statusCode).toBe(200);
    expect(livekit.rooms.get(late.json().room_name)?.participants.has(p.identity)).toBe(false);
    expect(await row()).toMatchObject({ status: 'ended', end_reason: 'quota_exceeded' });
    expect((await usage(a.owner)).voice_sessions.live).toBe(live + 1);
  });

  it("a leave whose release never ran (the process stopped) gives the slot back at LiveKit's retry", async () => {
    await setLimits(a.owner, { max_voice_sessions: 10_000 });
    const r = await token(a.member, 'crash-leave');
    expect(r.statusCode, r.body).toBe(200);
    const p = await livekit.join(r.json().livekit_token);
    const live = (await usage(a.owner)).voice_sessions.live as number;
    // The leave commits, and the instance stops before the release: no answer to LiveKit.
    const stop = vi
      .spyOn(t.app.quotas, 'release')
      .mockRejectedValueOnce(new Error('instance stopped'));
    await livekit.leave(r.json().room_name, p.identity);
    stop.mockRestore();
    const first = livekit.deliveries.at(-1)!;
    expect(first).toMatchObject({ event: 'participant_left' });
    expect(first.status).toBeGreaterThanOrEqual(500);
    expect((await usage(a.owner)).voice_sessions.live).toBe(live);

    // LiveKit delivers the event again: answered as a duplicate, and the slot goes back.
    expect((await postWebhook(t, first.webhook)).statusCode).toBe(200);
    expect((await usage(a.owner)).voice_sessions.live).toBe(live - 1);
  });

  it('a join delivered twice holds one slot', async () => {
    await setLimits(a.owner, { max_voice_sessions: 10_000 });
    const live = (await usage(a.owner)).voice_sessions.live as number;
    const mine = await token(a.member, 'twice');
    const p = await livekit.join(mine.json().livekit_token);
    expect((await postWebhook(t, livekit.deliveries.at(-1)!.webhook)).statusCode).toBe(200);
    expect((await usage(a.owner)).voice_sessions.live).toBe(live + 1);
    expect(livekit.rooms.get(mine.json().room_name)?.participants.has(p.identity)).toBe(true);
    await livekit.leave(mine.json().room_name, p.identity);
    expect((await usage(a.owner)).voice_sessions.live).toBe(live);
  });

  // The quota step runs after the join's transaction committed, so a participant_left can be
  // applied (its slot released) between the two: the step then takes a slot for a participant
  // who is gone, held until its lease expires. Each test runs the leave inside that window.
  it('a retried join whose participant left before its quota step holds no slot', async () => {
    await setLimits(a.owner, { max_voice_sessions: 10_000 });
    const live = (await usage(a.owner)).voice_sessions.live as number;
    const mine = await token(a.member, 'left-before-retry');
    const { room_name: room, session_id: sessionId } = mine.json();
    // The join commits, and its quota step fails: LiveKit will deliver it again.
    const stop = vi
      .spyOn(t.app.quotas, 'acquire')
      .mockRejectedValueOnce(new Error('instance stopped'));
    const p = await livekit.join(mine.json().livekit_token);
    stop.mockRestore();
    const first = livekit.deliveries.at(-1)!;
    expect(first).toMatchObject({ event: 'participant_joined' });
    expect(first.status).toBeGreaterThanOrEqual(500);

    // The retry finds the session active and commits; the participant leaves before its step.
    const acquire = t.app.quotas.acquire;
    const leaveFirst = vi.spyOn(t.app.quotas, 'acquire').mockImplementationOnce(async (...args) => {
      await livekit.leave(room, p.identity);
      return acquire(...args);
    });
    expect((await postWebhook(t, first.webhook)).statusCode).toBe(200);
    leaveFirst.mockRestore();
    expect(livekit.deliveries.at(-1)).toMatchObject({ event: 'participant_left', status: 200 });
    const row = await withSystem(database, (tx) =>
      tx.selectFrom('voice_sessions').selectAll().where('id', '=', sessionId).executeTakeFirst(),
    );
    expect(row).toMatchObject({ status: 'ended', end_reason: 'left' });
    expect((await usage(a.owner)).voice_sessions.live).toBe(live);
  });

  it('a first join whose participant left before its quota step holds no slot either', async () => {
    await setLimits(a.owner, { max_voice_sessions: 10_000 });
    const live = (await usage(a.owner)).voice_sessions.live as number;
    const mine = await token(a.member, 'left-before-hold');
    const acquire = t.app.quotas.acquire;
    const leaveFirst = vi.spyOn(t.app.quotas, 'acquire').mockImplementationOnce(async (...args) => {
      await livekit.leave(mine.json().room_name, a.member.user.id);
      return acquire(...args);
    });
    await livekit.join(mine.json().livekit_token);
    leaveFirst.mockRestore();
    expect(livekit.deliveries.slice(-2)).toMatchObject([
      { event: 'participant_left', status: 200 },
      { event: 'participant_joined', status: 200 },
    ]);
    expect((await usage(a.owner)).voice_sessions.live).toBe(live);
  });

  it('a token nobody joins with gives its slot back by itself', async () => {
    const live = (await usage(a.owner)).voice_sessions.live as number;
    await setLimits(a.owner, { max_voice_sessions: live });
    expect((await token(a.admin)).statusCode).toBe(429);
    ahead += 121_000;
    expect((await token(a.admin)).statusCode).toBe(200);
  });
});

describe('device sockets: upgrade issue, close release', () => {
  let a: Team;
  beforeAll(async () => {
    a = await team(t, 'Quota sockets');
    await setLimits(a.owner, { max_device_sockets: 1 });
  });

  it('closes the socket over the limit with 1013 and admits the next once one closes', async () => {
    const url = (who: { access: string }, name: string) =>
      `${ws}/ws?token=${who.access}&device_name=${name}`;
    const first = await mustOpen(url(a.member, 'one'));
    expect(await refusal(url(a.manager, 'two'))).toEqual({ code: 1013, reason: 'try again later' });
    expect((await usage(a.owner)).device_sockets).toMatchObject({ live: 1, limit: 1 });
    first.ws.close();
    await first.closed;
    await vi.waitFor(async () => expect((await usage(a.owner)).device_sockets.live).toBe(0), {
      timeout: 10_000,
    });
    const next = await mustOpen(url(a.manager, 'two'));
    next.ws.close();
    await next.closed;
  });
});

describe('lease expiry', () => {
  it("reclaims a call's slot whose status callback never came", async () => {
    const a = await team(t, 'Quota expiry');
    const { phoneNumber } = await streamingAgent(t, a.owner.headers, MEDIA_URL);
    await setLimits(a.owner, { max_live_calls: 1, inbound_reserved_calls: 0 });
    expect(connects((await voice(phoneNumber)).body)).toBe(true);
    expect(busy((await voice(phoneNumber)).body)).toBe(true);
    ahead += (t.config.quotas.leaseSeconds + 1) * 1000;
    expect((await usage(a.owner)).live_calls.live).toBe(0);
    expect(connects((await voice(phoneNumber)).body)).toBe(true);
  });
});
