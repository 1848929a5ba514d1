// The kill switch end to end, on TWO app instances over one database, against the fake Twilio
// and LiveKit servers and real `ws` clients: one act (the superuser's suspension) cuts every
// channel of the org — HTTP with a session or an API key, device sockets (session and API key,
// on either instance: 1008), LiveKit (participant removed, no token), a live Twilio call (hung up
// through the REST API), its webhooks ("not in service", nothing stored), the dispatcher (the
// scheduled call waits, pending) — while another org carries on; resuming restores keys and the
// scheduled call, never sessions. The second instance learns from its own polls (the tests wait
// for the effect, never for a duration).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withSystem } from '../db/tenant.ts';
import { buildTestApp, type TestApp } from '../test/app.ts';
import { bearer, GOOD_PASSWORD, loginUser } from '../test/auth-helpers.ts';
import { mustOpen, type Opened, recordingStream, refusal } from '../test/device-sockets.ts';
import { createVerifiedPhone } from '../test/factories.ts';
import { type FakeLiveKit, startFakeLiveKit } from '../test/fake-livekit.ts';
import { type FakeTwilio, startFakeTwilio } from '../test/fake-twilio.ts';
import { postWebhook } from '../test/livekit-helpers.ts';
import {
  ADMIN_ENV,
  auditOf,
  createKey,
  listPrompts,
  type Person,
  person,
  superuser,
  type Team,
  team,
} from '../test/org-helpers.ts';
import {
  callParams,
  incomingCall,
  makeScheduledCallDue,
  PLATFORM_SID,
  PLATFORM_TOKEN,
  scheduledCallRow,
  smsParams,
  streamingAgent,
  twilioEnv,
  twilioPost,
  uniqueNumber,
} from '../test/twilio.ts';

let twilio: FakeTwilio;
let livekit: FakeLiveKit;
let one: TestApp;
let two: TestApp;
let ws1: string;
let ws2: string;
let a: Team;
let b: Team;
let su: Person;
const rec = recordingStream();

beforeAll(async () => {
  twilio = await startFakeTwilio({ [PLATFORM_SID]: PLATFORM_TOKEN });
  livekit = await startFakeLiveKit();
  const env = { ...ADMIN_ENV, ...twilioEnv({ TWILIO_API_URL: twilio.url }), ...livekit.env };
  one = await buildTestApp({ env, deps: { audioStream: rec.handler } });
  two = await buildTestApp({ env, database: one.database, deps: { audioStream: rec.handler } });
  livekit.deliver = async (w) => (await postWebhook(one, w)).statusCode;
  ws1 = (await one.app.listen({ host: '127.0.0.1', port: 0 })).replace(/^http/, 'ws');
  ws2 = (await two.app.listen({ host: '127.0.0.1', port: 0 })).replace(/^http/, 'ws');
  a = await team(one, 'Breached Org');
  b = await team(one, 'Bystander Org');
  su = await superuser(one);
});
afterAll(async () => {
  await two?.close();
  await one?.close();
  await livekit?.close();
  await twilio?.close();
});

/** Polls until `check` holds (the other instance's timers); fails after `ms` without it. */
async function eventually(check: () => Promise<boolean> | boolean, ms = 10_000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition never held');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const post = (t: TestApp, url: string, headers: Record<string, string>, payload: object) =>
  t.app.inject({ method: 'POST', url, headers, payload });

async function outgoingAgent(headers: Record<string, string>) {
  const phone = await createVerifiedPhone(one.app, one.database, headers, {
    number: uniqueNumber(),
  });
  const res = await post(one, '/api/agents', headers, {
    name: 'Caller',
    direction: 'outgoing',
    phone_id: phone.id,
    media_stream_url: 'wss://worker.example.test/media',
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id as string;
}

async function scheduleDue(headers: Record<string, string>, agentId: string) {
  const res = await post(one, '/api/scheduled-calls', headers, {
    agent_id: agentId,
    to: '+14155550123',
    scheduled_at: new Date(Date.now() + 60_000).toISOString(),
  });
  expect(res.statusCode, res.body).toBe(201);
  const id = res.json().id as string;
  await makeScheduledCallDue(one.database, id);
  return id;
}

const countRows = (table: 'calls' | 'messages' | 'call_events', orgId: string) =>
  withSystem(one.database, async (tx) => {
    const r = await tx
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('org_id', '=', orgId)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  });

describe('suspending an org cuts every channel, on both instances', () => {
  let member: Person;
  let twoOrgs: Person;
  let key: Awaited<ReturnType<typeof createKey>>;
  let bKey: Awaited<ReturnType<typeof createKey>>;
  let sockets: Record<'session1' | 'session2' | 'key1' | 'key2' | 'bystander', Opened>;
  let room: { livekit_token: string; room_name: string };
  let keyRoom: { livekit_token: string; room_name: string };
  let live: { callSid: string };
  let phoneNumber: string;
  let scheduledId: string;
  let bScheduledId: string;

  beforeAll(async () => {
    member = await person(one, a.org, 'member', 'cut-member');
    // Member of A first (the default org at login), then of B.
    twoOrgs = await person(one, a.org, 'member', 'two-orgs');
    await withSystem(one.database, (tx) =>
      tx
        .insertInto('memberships')
        .values({ org_id: b.org.id, user_id: twoOrgs.user.id, role: 'member' })
        .execute(),
    );
    key = await createKey(one.app, a.owner, ['prompts:read', 'audio:write', 'livekit:join']);
    bKey = await createKey(one.app, b.owner, ['prompts:read']);
    sockets = {
      session1: await mustOpen(`${ws1}/ws?token=${member.access}&device_name=s1`),
      session2: await mustOpen(`${ws2}/ws_pcm?token=${member.access}&device_name=s2`),
      key1: await mustOpen(`${ws1}/ws?device_name=k1`, { headers: key.headers }),
      key2: await mustOpen(`${ws2}/ws?device_name=k2`, { protocols: ['bearer', key.key] }),
      bystander: await mustOpen(`${ws2}/ws?token=${b.member.access}&device_name=b`),
    };
    const tok = await post(one, '/api/livekit/token', member.headers, { room_name: 'standup' });
    expect(tok.statusCode, tok.body).toBe(200);
    room = tok.json();
    await livekit.join(room.livekit_token);
    // A worker's API key joined too: no logout ends its session, only the kill switch.
    const byKey = await post(one, '/api/livekit/token', key.headers, { room_name: 'worker' });
    expect(byKey.statusCode, byKey.body).toBe(200);
    keyRoom = byKey.json();
    await livekit.join(keyRoom.livekit_token);
    ({ phoneNumber } = await streamingAgent(one, a.owner.headers, 'wss://worker.example.test/m'));
    live = await incomingCall(one.app, phoneNumber);
    scheduledId = await scheduleDue(a.owner.headers, await outgoingAgent(a.owner.headers));
    bScheduledId = await scheduleDue(b.owner.headers, await outgoingAgent(b.owner.headers));

    const res = await post(one, `/api/admin/orgs/${a.org.id}/suspend`, su.headers, {
      reason: 'Abuse report #4711',
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      org_id: a.org.id,
      suspended: true,
      kind: 'suspension',
      reason: 'Abuse report #4711',
      suspended_by: su.user.id,
      api_keys_held: 1,
      scheduled_calls_paused: 1,
      live_calls_ended: 1,
      live_calls_failed: 0,
    });
    expect(res.json().sessions_ended).toBeGreaterThanOrEqual(6);
  });

  it('HTTP: sessions and API keys are refused (403 org_suspended) on both instances', async () => {
    for (const t of [one, two]) {
      // The session's holder is told why (the dashboard shows it), not just "log in again".
      await eventually(async () => (await listPrompts(t.app, member.headers)).statusCode === 403);
      expect((await listPrompts(t.app, member.headers)).json().code).toBe('org_suspended');
      const byKey = await listPrompts(t.app, key.headers);
      expect(byKey.statusCode).toBe(403);
      expect(byKey.json().code).toBe('org_suspended');
      // The other org carries on.
      expect((await listPrompts(t.app, b.member.headers)).statusCode).toBe(200);
      expect((await listPrompts(t.app, bKey.headers)).statusCode).toBe(200);
    }
    // The refresh chains ended with the sessions.
    const refreshed = await post(one, '/api/auth/refresh', {}, { refresh_token: member.refresh });
    expect(refreshed.statusCode).toBe(401);
  });

  it('device sockets close with 1008 on both instances, whoever opened them; new ones are refused', async () => {
    // Whoever opened them, and on both instances: the session sockets hear why their session
    // ended (the suspension), not only that it did (`revoked`).
    for (const s of [sockets.session1, sockets.session2, sockets.key1, sockets.key2]) {
      expect(await s.closed).toMatchObject({ code: 1008, reason: 'org suspended' });
    }
    expect(sockets.bystander.ws.readyState).toBe(sockets.bystander.ws.OPEN);
    for (const url of [ws1, ws2]) {
      expect(await refusal(`${url}/ws?device_name=k3`, { headers: key.headers })).toEqual({
        code: 1008,
        reason: 'org suspended',
      });
    }
  });

  it('LiveKit: the participant is removed and no room token is issued', async () => {
    await one.app.livekit.idle();
    await two.app.livekit.idle();
    expect(livekit.rooms.get(room.room_name)?.participants.has(member.user.id) ?? false).toBe(
      false,
    );
    await expect(livekit.join(room.livekit_token)).rejects.toThrow(/revoked/);
    expect(livekit.rooms.get(keyRoom.room_name)?.participants.size ?? 0).toBe(0);
    await expect(livekit.join(keyRoom.livekit_token)).rejects.toThrow(/revoked/);
    for (const t of [one, two]) {
      const res = await post(t, '/api/livekit/token', key.headers, {});
      expect(res.statusCode).toBe(403);
      expect(res.json().code).toBe('org_suspended');
    }
  });

  it('Twilio: the live call was hung up through the REST API', () => {
    expect(twilio.callUpdates).toContainEqual({
      sid: live.callSid,
      accountSid: PLATFORM_SID,
      status: 'completed',
    });
  });

  it('Twilio webhooks answer "not in service" and store nothing', async () => {
    const before = await Promise.all([
      countRows('calls', a.org.id),
      countRows('messages', a.org.id),
      countRows('call_events', a.org.id),
    ]);
    for (const t of [one, two]) {
      const voice = await twilioPost(
        t.app,
        '/webhooks/twilio/voice',
        callParams({ To: phoneNumber }),
      );
      expect(voice.statusCode).toBe(200);
      expect(voice.body).toContain('<Say>Sorry, this number is not in service. Goodbye.</Say>');
      expect(voice.body).toContain('<Hangup/>');
      expect(voice.body).not.toContain('<Stream');
      const status = await twilioPost(
        t.app,
        '/webhooks/twilio/status',
        callParams({ CallSid: live.callSid, To: phoneNumber, CallStatus: 'completed' }),
      );
      expect(status.statusCode).toBe(204);
      const sms = await twilioPost(t.app, '/webhooks/twilio/sms', smsParams({ To: phoneNumber }));
      expect(sms.statusCode).toBe(200);
      expect(sms.body).not.toContain('<Message>');
    }
    // A forged one is still refused before anything else.
    const forged = await twilioPost(
      one.app,
      '/webhooks/twilio/voice',
      callParams({ To: phoneNumber }),
      { token: 'not-the-token' },
    );
    expect(forged.statusCode).toBe(403);
    expect(
      await Promise.all([
        countRows('calls', a.org.id),
        countRows('messages', a.org.id),
        countRows('call_events', a.org.id),
      ]),
    ).toEqual(before);
  });

  it('the dispatcher pauses its scheduled calls (pending, not failed); the other org dispatches', async () => {
    await one.app.dispatcher.runOnce();
    await two.app.dispatcher.runOnce();
    expect(twilio.calls.some((c) => c.scheduledCallId === scheduledId)).toBe(false);
    expect(await scheduledCallRow(one.database, scheduledId)).toMatchObject({
      status: 'pending',
      attempts: 0,
    });
    expect(twilio.calls.filter((c) => c.scheduledCallId === bScheduledId)).toHaveLength(1);
  });

  it('logins into it answer 403 org_suspended; members reach their other orgs', async () => {
    const only = await loginUser(one.app, member.email, GOOD_PASSWORD);
    expect(only.statusCode).toBe(403);
    expect(only.json().code).toBe('org_suspended');
    // A member of two orgs lands in the one in service, and cannot switch into the other.
    const both = await loginUser(two.app, twoOrgs.email, GOOD_PASSWORD);
    expect(both.statusCode, both.body).toBe(200);
    const access = both.json().access_token as string;
    expect(both.json().org.id).toBe(b.org.id);
    const sw = await post(two, '/api/auth/switch-org', bearer(access), { org_id: a.org.id });
    expect(sw.statusCode).toBe(403);
    expect(sw.json().code).toBe('org_suspended');
    // The org list says which one is out of service (the dashboard's switcher greys it out).
    const orgs = await two.app.inject({ url: '/api/orgs', headers: bearer(access) });
    const flags = Object.fromEntries(
      orgs.json().items.map((o: { id: string; suspended: boolean }) => [o.id, o.suspended]),
    );
    expect(flags).toEqual({ [a.org.id]: true, [b.org.id]: false });
  });

  it('the superuser lists it; every step is audited with the reason', async () => {
    const list = await one.app.inject({ url: '/api/admin/suspended-orgs', headers: su.headers });
    expect(list.statusCode).toBe(200);
    expect(list.json().items).toContainEqual(
      expect.objectContaining({
        id: a.org.id,
        kind: 'suspension',
        reason: 'Abuse report #4711',
        suspended_by_email: su.email,
      }),
    );
    expect(list.json().items.some((o: { id: string }) => o.id === b.org.id)).toBe(false);
    const trail = await auditOf(one.database, a.org.id);
    const suspend = trail.find((e) => e.action === 'org.suspend');
    expect(suspend).toMatchObject({ actor_user_id: su.user.id, actor_type: 'superuser' });
    expect(suspend?.metadata).toMatchObject({ reason: 'Abuse report #4711', live_calls: 1 });
    const ended = trail.find((e) => e.action === 'org.calls_ended');
    expect(ended?.metadata).toMatchObject({ reason: 'Abuse report #4711', ended: 1, failed: 0 });
  });

  describe('resuming', () => {
    beforeAll(async () => {
      const res = await post(two, `/api/admin/orgs/${a.org.id}/resume`, su.headers, {
        reason: 'Cleared after review',
      });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({
        suspended: false,
        kind: null,
        api_keys_restored: 1,
        scheduled_calls_resumed: 1,
      });
    });

    it('holds none of the concurrency slots the suspension ended (the call, the voice sessions)', async () => {
      // The hung-up call's status callback came while the org was out of service, and the
      // suspension revoked the joined participant's session and every login's token: their
      // slots (held for QUOTA_LEASE_SECONDS once joined) must not outlive the suspension: the
      // API key's session, which no logout ended, included.
      // On the instance that resumed it (the other learns from its polls).
      const owner = await loginUser(two.app, a.owner.email, GOOD_PASSWORD);
      expect(owner.statusCode, owner.body).toBe(200);
      const res = await two.app.inject({
        url: '/api/orgs/current/usage',
        headers: bearer(owner.json().access_token),
      });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().live_calls.live).toBe(0);
      // The login above minted the one token live now (its personal room).
      expect(res.json().voice_sessions.live).toBe(1);
    });

    it('restores API keys on both instances, never sessions', async () => {
      for (const t of [one, two]) {
        await eventually(async () => (await listPrompts(t.app, key.headers)).statusCode === 200);
        expect((await listPrompts(t.app, member.headers)).statusCode).toBe(401);
      }
      const again = await loginUser(one.app, member.email, GOOD_PASSWORD);
      expect(again.statusCode).toBe(200);
      expect(again.json().org.id).toBe(a.org.id);
    });

    it('restores the scheduled call: the dispatcher places it', async () => {
      await one.app.dispatcher.runOnce();
      expect(twilio.calls.filter((c) => c.scheduledCallId === scheduledId)).toHaveLength(1);
      expect(await scheduledCallRow(one.database, scheduledId)).toMatchObject({
        status: 'dispatched',
      });
    });

    it('is audited with its reason', async () => {
      const trail = await auditOf(one.database, a.org.id);
      expect(trail.find((e) => e.action === 'org.resume')?.metadata).toMatchObject({
        reason: 'Cleared after review',
        was: 'suspension',
      });
    });
  });
});

describe('when Twilio will not end a call', () => {
  it('the suspension stands; the failure is counted and audited', async () => {
    const c = await team(one, 'Unlucky Org');
    const { phoneNumber } = await streamingAgent(
      one,
      c.owner.headers,
      'wss://worker.example.test/m',
    );
    const call = await incomingCall(one.app, phoneNumber);
    twilio.failNext(1);
    const res = await post(one, `/api/admin/orgs/${c.org.id}/suspend`, su.headers, {
      reason: 'Chargebacks',
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      suspended: true,
      live_calls_ended: 0,
      live_calls_failed: 1,
    });
    expect(twilio.callUpdates.some((u) => u.sid === call.callSid)).toBe(false);
    const ended = (await auditOf(one.database, c.org.id)).find(
      (e) => e.action === 'org.calls_ended',
    );
    expect(ended).toMatchObject({ outcome: 'failure' });
    expect(ended?.metadata).toMatchObject({ reason: 'Chargebacks', ended: 0, failed: 1 });
    // Its webhooks are out of service all the same.
    const voice = await twilioPost(
      one.app,
      '/webhooks/twilio/voice',
      callParams({ To: phoneNumber }),
    );
    expect(voice.body).toContain('<Hangup/>');
    expect(voice.body).not.toContain('<Stream');
  });
});

describe('a scheduled call being placed at the instant of the suspension', () => {
  it('is hung up: the suspension commits while Twilio places it', async () => {
    const d = await team(one, 'Racing Org');
    const agentId = await outgoingAgent(d.owner.headers);
    const scheduled = await scheduleDue(d.owner.headers, agentId);
    let suspended = 0;
    twilio.whilePlacing = async (call) => {
      if (call.scheduledCallId !== scheduled) return;
      const res = await post(two, `/api/admin/orgs/${d.org.id}/suspend`, su.headers, {
        reason: 'Breach while dialling',
      });
      suspended = res.statusCode;
    };
    try {
      await one.app.dispatcher.runOnce();
    } finally {
      twilio.whilePlacing = undefined;
    }
    expect(suspended).toBe(200);
    const placed = twilio.calls.find((c) => c.scheduledCallId === scheduled);
    expect(placed).toBeDefined();
    expect(twilio.callUpdates).toContainEqual(
      expect.objectContaining({ sid: placed?.sid, status: 'completed' }),
    );
  });
});
