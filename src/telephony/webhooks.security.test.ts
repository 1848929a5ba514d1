// Hostile cases for Twilio's webhooks: unsigned, forged, stale-URL, tampered and cross-tenant
// requests are refused with 403 and store nothing; Twilio's retries are stored once. Signatures
// come from the twilio package's own helper.
import { sql } from 'kysely';
import twilio from 'twilio';
import { beforeAll, describe, expect, it } from 'vitest';
import { withSystem } from '../db/tenant.ts';
import { appForFile, as, buildTestApp } from '../test/app.ts';
import { createTeam, createVerifiedPhone, registerPhone } from '../test/factories.ts';
import {
  callingAgent,
  callParams,
  create,
  incomingCall,
  PLATFORM_TOKEN,
  PUBLIC_URL,
  smsParams,
  streamingAgent,
  twilioEnv,
  twilioPost,
  uniqueNumber,
} from '../test/twilio.ts';

const t = appForFile({ headerAuth: true, env: twilioEnv() });
let a: Awaited<ReturnType<typeof createTeam>>;
let b: Awaited<ReturnType<typeof createTeam>>;
let phoneA: { id: string; number: string };
let phoneB: { id: string; number: string };
const B_SID = `AC${'b'.repeat(32)}`;
const B_TOKEN = 'orgbtoken0123456789abcdef0123456';

async function counts() {
  return withSystem(t.database, async (tx) => {
    const { rows } = await sql<{ calls: number; events: number; messages: number }>`
      SELECT (SELECT count(*) FROM calls)::int AS calls,
             (SELECT count(*) FROM call_events)::int AS events,
             (SELECT count(*) FROM messages)::int AS messages`.execute(tx);
    return rows[0]!;
  });
}

beforeAll(async () => {
  a = await createTeam(t.database);
  b = await createTeam(t.database);
  phoneA = await createVerifiedPhone(t.app, t.database, as(a.owner, a.org, 'owner'), {
    number: uniqueNumber(),
  });
  await create(t.app, '/api/message-agents', [a.owner, a.org, 'owner'], {
    name: 'bot',
    phone_id: phoneA.id,
    auto_reply: 'ok',
  });
  // Org B has its own Twilio account: its webhooks must be signed with B's token.
  const put = await t.app.inject({
    method: 'PUT',
    url: '/api/twilio/credentials',
    headers: as(b.admin, b.org, 'admin'),
    payload: { account_sid: B_SID, auth_token: B_TOKEN },
  });
  expect(put.statusCode).toBe(200);
  // Verified after the account is set: changing the account resets what an old one proved.
  phoneB = await createVerifiedPhone(t.app, t.database, as(b.owner, b.org, 'owner'), {
    number: uniqueNumber(),
  });
});

const paths = ['/webhooks/twilio/voice', '/webhooks/twilio/status', '/webhooks/twilio/sms'];
const paramsFor = (path: string, to: string) =>
  path.endsWith('sms')
    ? smsParams({ To: to })
    : callParams({ To: to, ...(path.endsWith('status') ? { CallStatus: 'completed' } : {}) });

describe('webhook signatures', () => {
  it.each(paths)('%s: no signature → 403 problem, nothing stored', async (path) => {
    const before = await counts();
    const res = await twilioPost(t.app, path, paramsFor(path, phoneA.number), { signature: null });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ code: 'invalid_webhook_signature' });
    expect(await counts()).toEqual(before);
  });

  it.each(paths)('%s: wrong token, garbage, empty or huge signature → 403', async (path) => {
    const before = await counts();
    const params = paramsFor(path, phoneA.number);
    for (const opts of [
      { token: 'wrongtoken0123456789abcdef012345' },
      { signature: 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' },
      { signature: '' },
      { signature: 'x'.repeat(10_000) },
    ]) {
      expect((await twilioPost(t.app, path, params, opts)).statusCode).toBe(403);
    }
    expect(await counts()).toEqual(before);
  });

  it.each(paths)(
    '%s: a signature for another URL (stale domain, other path, http) → 403',
    async (path) => {
      const before = await counts();
      const params = paramsFor(path, phoneA.number);
      for (const signedUrl of [
        `https://old-domain.example.test${path}`,
        `http://switchboard.example.test${path}`,
        `${PUBLIC_URL}/webhooks/twilio/other`,
        `${PUBLIC_URL}${path}?x=1`,
      ]) {
        expect((await twilioPost(t.app, path, params, { signedUrl })).statusCode).toBe(403);
      }
      expect(await counts()).toEqual(before);
    },
  );

  it('the URL comes from PUBLIC_URL, not from the Host header the caller sends', async () => {
    const params = callParams({ To: phoneA.number });
    // Validly signed by the right token, but for the URL the Host header claims.
    const signature = twilio.getExpectedTwilioSignature(
      PLATFORM_TOKEN,
      'https://evil.example.test/webhooks/twilio/voice',
      params,
    );
    const res = await t.app.inject({
      method: 'POST',
      url: '/webhooks/twilio/voice',
      headers: {
        host: 'evil.example.test',
        'x-forwarded-host': 'evil.example.test',
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': signature,
      },
      payload: new URLSearchParams(params).toString(),
    });
    expect(res.statusCode).toBe(403);
  });

  it('a parameter changed after signing → 403 (the body is covered)', async () => {
    const params = smsParams({ To: phoneA.number, Body: 'pay 1 USD' });
    const signature = twilio.getExpectedTwilioSignature(
      t.config.twilio.authToken as string,
      `${PUBLIC_URL}/webhooks/twilio/sms`,
      params,
    );
    const res = await twilioPost(
      t.app,
      '/webhooks/twilio/sms',
      { ...params, Body: 'pay 1000 USD' },
      { signature },
    );
    expect(res.statusCode).toBe(403);
    const extra = await twilioPost(
      t.app,
      '/webhooks/twilio/sms',
      { ...params, Extra: 'x' },
      { signature },
    );
    expect(extra.statusCode).toBe(403);
  });

  it("an org with its own account: only its token signs its webhooks (not the platform's)", async () => {
    const params = callParams({ To: phoneB.number });
    expect((await twilioPost(t.app, '/webhooks/twilio/voice', params)).statusCode).toBe(403);
    const ok = await twilioPost(t.app, '/webhooks/twilio/voice', params, { token: B_TOKEN });
    expect(ok.statusCode).toBe(200);
    // ...and B's token does not sign for A's number.
    const cross = await twilioPost(
      t.app,
      '/webhooks/twilio/voice',
      callParams({ To: phoneA.number }),
      {
        token: B_TOKEN,
      },
    );
    expect(cross.statusCode).toBe(403);
  });

  it("org B (knowing its own token) cannot move org A's call: the call's org decides the token", async () => {
    const params = callParams({ To: phoneA.number });
    expect((await twilioPost(t.app, '/webhooks/twilio/voice', params)).statusCode).toBe(200);
    // A callback naming A's call but B's number, signed with B's token.
    const forged = await twilioPost(
      t.app,
      '/webhooks/twilio/status',
      { ...params, To: phoneB.number, CallStatus: 'completed', CallDuration: '999' },
      { token: B_TOKEN },
    );
    expect(forged.statusCode).toBe(403);
    const call = await t.app.inject({
      url: `/api/calls/${params.CallSid}`,
      headers: as(a.owner, a.org, 'owner'),
    });
    expect(call.json()).toMatchObject({ status: 'ringing', duration_seconds: null });
  });

  it('no token configured anywhere: every webhook is refused', async () => {
    const bare = await buildTestApp({
      headerAuth: true,
      database: t.database,
      env: { PUBLIC_URL },
    });
    try {
      const res = await twilioPost(
        bare.app,
        '/webhooks/twilio/voice',
        callParams({ To: phoneA.number }),
      );
      expect(res.statusCode).toBe(403);
    } finally {
      await bare.close();
    }
  });
});

describe('webhook input', () => {
  it('JSON instead of a form → 415, nothing stored', async () => {
    const before = await counts();
    const res = await t.app.inject({
      method: 'POST',
      url: '/webhooks/twilio/voice',
      payload: callParams({ To: phoneA.number }),
    });
    expect(res.statusCode).toBe(415);
    expect(await counts()).toEqual(before);
  });

  it('signed but malformed → 400; unsigned and malformed → 403', async () => {
    const bad = callParams({ To: phoneA.number, CallSid: 'CA-not-a-sid' });
    expect((await twilioPost(t.app, '/webhooks/twilio/voice', bad)).statusCode).toBe(400);
    expect(
      (await twilioPost(t.app, '/webhooks/twilio/voice', bad, { signature: null })).statusCode,
    ).toBe(403);
    // Text the database cannot store (NUL, a lone surrogate) in the number that finds the owner:
    // still the unsigned request's 403, never a 400 from a lookup made before the signature.
    for (const path of [
      '/webhooks/twilio/voice',
      '/webhooks/twilio/status',
      '/webhooks/twilio/sms',
    ]) {
      for (const To of ['+1\u0000', '+1\ud800']) {
        const junk = { ...callParams({ To, From: To }), Body: 'x' };
        const res = await twilioPost(t.app, path, junk, { signature: null });
        expect(res.statusCode, `${path} ${JSON.stringify(To)}`).toBe(403);
      }
    }
    const status = callParams({ To: phoneA.number, CallStatus: 'exploded' });
    expect((await twilioPost(t.app, '/webhooks/twilio/status', status)).statusCode).toBe(400);
    const lower = { ...callParams({ To: phoneA.number }), sneaky: '1' };
    expect((await twilioPost(t.app, '/webhooks/twilio/voice', lower)).statusCode).toBe(400);
    const query = await twilioPost(
      t.app,
      '/webhooks/twilio/voice?scheduled_call_id=nope',
      callParams({ To: phoneA.number }),
    );
    expect(query.statusCode).toBe(400);
  });
});

describe("Twilio's retries are stored once", () => {
  it('the same voice webhook twice: one call row, the same kind of answer', async () => {
    const params = callParams({ To: phoneA.number });
    const first = await twilioPost(t.app, '/webhooks/twilio/voice', params);
    const before = await counts();
    const second = await twilioPost(t.app, '/webhooks/twilio/voice', params);
    expect(second.statusCode).toBe(200);
    expect(second.body).toBe(first.body);
    expect(await counts()).toEqual(before);
  });

  it('the same status callback twice: applied once', async () => {
    const params = callParams({ To: phoneA.number });
    await twilioPost(t.app, '/webhooks/twilio/voice', params);
    const completed = { ...params, CallStatus: 'completed', CallDuration: '17' };
    expect((await twilioPost(t.app, '/webhooks/twilio/status', completed)).statusCode).toBe(204);
    const before = await counts();
    const again = { ...completed, CallDuration: '99' };
    expect((await twilioPost(t.app, '/webhooks/twilio/status', again)).statusCode).toBe(204);
    expect(await counts()).toEqual(before);
    const call = await t.app.inject({
      url: `/api/calls/${params.CallSid}`,
      headers: as(a.owner, a.org, 'owner'),
    });
    expect(call.json()).toMatchObject({ status: 'completed', duration_seconds: 17 });
  });

  it('concurrent deliveries of the same SMS: one inbound row, one auto-reply row', async () => {
    const params = smsParams({ To: phoneA.number });
    const before = await counts();
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => twilioPost(t.app, '/webhooks/twilio/sms', params)),
    );
    for (const r of answers) expect(r.statusCode).toBe(200);
    expect((await counts()).messages).toBe(before.messages + 2);
  });
});

describe('a retried SMS webhook', () => {
  it('answers what the first delivery answered, as logged, whatever the agent says now', async () => {
    const who = as(a.owner, a.org, 'owner');
    const phone = await createVerifiedPhone(t.app, t.database, who, { number: uniqueNumber() });
    const bot = await create(t.app, '/api/message-agents', [a.owner, a.org, 'owner'], {
      name: 'retry bot',
      phone_id: phone.id,
      auto_reply: 'Reply v1',
    });
    const setReply = (auto_reply: string | null) =>
      t.app.inject({
        method: 'PATCH',
        url: `/api/message-agents/${bot.id}`,
        headers: who,
        payload: { auto_reply },
      });
    const first = smsParams({ To: phone.number });
    expect((await twilioPost(t.app, '/webhooks/twilio/sms', first)).body).toContain(
      '<Message>Reply v1</Message>',
    );
    expect((await setReply('Reply v2')).statusCode).toBe(200);
    const retried = await twilioPost(t.app, '/webhooks/twilio/sms', first);
    expect(retried.statusCode).toBe(200);
    expect(retried.body).toContain('<Message>Reply v1</Message>');

    // No reply the first time: none on the retry either, though the agent has one now.
    expect((await setReply(null)).statusCode).toBe(200);
    const quiet = smsParams({ To: phone.number });
    expect((await twilioPost(t.app, '/webhooks/twilio/sms', quiet)).body).not.toContain(
      '<Message>',
    );
    expect((await setReply('late')).statusCode).toBe(200);
    expect((await twilioPost(t.app, '/webhooks/twilio/sms', quiet)).body).not.toContain(
      '<Message>',
    );
  });
});

describe('routing follows the verified number', () => {
  it('a number another org registers stays inert there; moved to that org it routes there, and calls already logged stay where they began', async () => {
    const number = uniqueNumber();
    const inA = await createVerifiedPhone(t.app, t.database, as(a.owner, a.org, 'owner'), {
      number,
    });
    const earlier = callParams({ To: number });
    await twilioPost(t.app, '/webhooks/twilio/voice', earlier);
    // B may register it (the answer reveals nothing), but it stays pending there and gets no
    // calls, even once A stops routing it.
    const squat = await registerPhone(t.app, as(b.owner, b.org, 'owner'), { number });
    expect(squat.statusCode).toBe(201);
    expect(squat.json().verification_status).toBe('pending_verification');
    await t.app.inject({
      method: 'PATCH',
      url: `/api/phones/${inA.id}`,
      headers: as(a.owner, a.org, 'owner'),
      payload: { active: false },
    });
    const squatted = callParams({ To: number });
    expect(
      (await twilioPost(t.app, '/webhooks/twilio/voice', squatted, { token: B_TOKEN })).statusCode,
    ).toBe(403);
    // The number really moves: A releases it, B proves it owns it.
    await t.app.inject({
      method: 'DELETE',
      url: `/api/phones/${inA.id}`,
      headers: as(a.owner, a.org, 'owner'),
    });
    await t.app.inject({
      method: 'DELETE',
      url: `/api/phones/${squat.json().id}`,
      headers: as(b.owner, b.org, 'owner'),
    });
    await createVerifiedPhone(t.app, t.database, as(b.owner, b.org, 'owner'), { number });
    const later = callParams({ To: number });
    expect(
      (await twilioPost(t.app, '/webhooks/twilio/voice', later, { token: B_TOKEN })).statusCode,
    ).toBe(200);
    // A's earlier call keeps A's token (its org), even though the number now routes to B.
    const status = { ...earlier, CallStatus: 'completed', CallDuration: '5' };
    expect(
      (await twilioPost(t.app, '/webhooks/twilio/status', status, { token: B_TOKEN })).statusCode,
    ).toBe(403);
    expect((await twilioPost(t.app, '/webhooks/twilio/status', status)).statusCode).toBe(204);
    const orgs = await withSystem(t.database, (tx) =>
      tx
        .selectFrom('calls')
        .select(['call_sid', 'org_id'])
        .where('call_sid', 'in', [
          earlier.CallSid as string,
          squatted.CallSid as string,
          later.CallSid as string,
        ])
        .execute(),
    );
    expect(Object.fromEntries(orgs.map((r) => [r.call_sid, r.org_id]))).toEqual({
      [earlier.CallSid as string]: a.org.id,
      [later.CallSid as string]: b.org.id,
    });
  });
});

describe('Twilio credentials of an org', () => {
  it('are never returned, are sealed at rest, and only owners and admins manage them', async () => {
    const get = await t.app.inject({
      url: '/api/twilio/credentials',
      headers: as(b.admin, b.org, 'admin'),
    });
    expect(get.json()).toMatchObject({ source: 'org', account_sid: B_SID });
    expect(get.body).not.toContain(B_TOKEN);
    const row = await withSystem(t.database, (tx) =>
      tx
        .selectFrom('org_twilio_credentials')
        .selectAll()
        .where('org_id', '=', b.org.id)
        .executeTakeFirstOrThrow(),
    );
    expect(row.auth_token_enc).not.toContain(B_TOKEN);
    expect(row.auth_token_enc).toMatch(/^v1\./);
    const audit = await withSystem(t.database, (tx) =>
      tx
        .selectFrom('audit_logs')
        .selectAll()
        .where('org_id', '=', b.org.id)
        .where('action', 'like', 'twilio%')
        .execute(),
    );
    expect(audit).toHaveLength(1);
    expect(JSON.stringify(audit)).not.toContain(B_TOKEN);
    for (const role of ['manager', 'member'] as const) {
      const who = as(b[role], b.org, role);
      expect(
        (await t.app.inject({ url: '/api/twilio/credentials', headers: who })).statusCode,
      ).toBe(403);
      const put = await t.app.inject({
        method: 'PUT',
        url: '/api/twilio/credentials',
        headers: who,
        payload: { account_sid: B_SID, auth_token: 'x'.repeat(32) },
      });
      expect(put.statusCode).toBe(403);
    }
    const platform = await t.app.inject({
      url: '/api/twilio/credentials',
      headers: as(a.owner, a.org, 'owner'),
    });
    expect(platform.json()).toEqual({ source: 'platform', account_sid: null, updated_at: null });
  });

  it('a sealed token copied onto another org does not open: webhooks are refused', async () => {
    const c = await createTeam(t.database);
    const phoneC = await createVerifiedPhone<{ number: string }>(
      t.app,
      t.database,
      as(c.owner, c.org, 'owner'),
      {
        number: uniqueNumber(),
      },
    );
    await withSystem(t.database, async (tx) => {
      const row = await tx
        .selectFrom('org_twilio_credentials')
        .selectAll()
        .where('org_id', '=', b.org.id)
        .executeTakeFirstOrThrow();
      await tx
        .insertInto('org_twilio_credentials')
        .values({
          org_id: c.org.id,
          account_sid: row.account_sid,
          auth_token_enc: row.auth_token_enc,
        })
        .execute();
    });
    const params = callParams({ To: phoneC.number });
    expect(
      (await twilioPost(t.app, '/webhooks/twilio/voice', params, { token: B_TOKEN })).statusCode,
    ).toBe(403);
    expect((await twilioPost(t.app, '/webhooks/twilio/voice', params)).statusCode).toBe(403);
  });

  it('removal forgets the token and falls back to the platform account', async () => {
    const d = await createTeam(t.database);
    const headers = as(d.owner, d.org, 'owner');
    const token = 'dtoken0123456789abcdef0123456789';
    await t.app.inject({
      method: 'PUT',
      url: '/api/twilio/credentials',
      headers,
      payload: { account_sid: `AC${'d'.repeat(32)}`, auth_token: token },
    });
    const phoneD = await createVerifiedPhone(t.app, t.database, headers, {
      number: uniqueNumber(),
    });
    const params = callParams({ To: phoneD.number });
    expect((await twilioPost(t.app, '/webhooks/twilio/voice', params, { token })).statusCode).toBe(
      200,
    );
    const del = await t.app.inject({ method: 'DELETE', url: '/api/twilio/credentials', headers });
    expect(del.statusCode).toBe(204);
    const row = await withSystem(t.database, (tx) =>
      tx
        .selectFrom('org_twilio_credentials')
        .selectAll()
        .where('org_id', '=', d.org.id)
        .executeTakeFirstOrThrow(),
    );
    expect(row.auth_token_enc).toBeNull();
    const next = callParams({ To: phoneD.number });
    expect((await twilioPost(t.app, '/webhooks/twilio/voice', next, { token })).statusCode).toBe(
      403,
    );
    // The platform token signs again; the number, proven on the removed account only, is pending
    // again and answered as not in service until the platform operator assigns it.
    const fallback = await twilioPost(t.app, '/webhooks/twilio/voice', next);
    expect(fallback.statusCode).toBe(200);
    expect(fallback.body).toContain('not in service');
    const after = await t.app.inject({ url: `/api/phones/${phoneD.id}`, headers });
    expect(after.json().verification_status).toBe('pending_verification');
    expect(
      (await t.app.inject({ method: 'DELETE', url: '/api/twilio/credentials', headers }))
        .statusCode,
    ).toBe(404);
  });

  it('rejects malformed credentials and unknown fields', async () => {
    const headers = as(a.owner, a.org, 'owner');
    for (const payload of [
      { account_sid: 'nope', auth_token: 'x'.repeat(32) },
      { account_sid: B_SID, auth_token: 'short' },
      { account_sid: B_SID, auth_token: 'x'.repeat(32), org_id: b.org.id },
    ]) {
      const res = await t.app.inject({
        method: 'PUT',
        url: '/api/twilio/credentials',
        headers,
        payload,
      });
      expect(res.statusCode).toBe(400);
      expect(res.body).not.toContain('x'.repeat(32));
    }
  });
});

describe('text Twilio speaks or sends travels in XML', () => {
  const ctl = 'Hello\u0007 and\u000b welcome';
  const owner = () => as(a.owner, a.org, 'owner');

  it('the API refuses a greeting or auto-reply with a control character XML cannot carry', async () => {
    const phone = await createVerifiedPhone(t.app, t.database, owner(), {
      number: uniqueNumber(),
    });
    for (const [url, payload, field] of [
      [
        '/api/agents',
        { name: 'Bell', direction: 'incoming', phone_id: phone.id, greeting: ctl },
        'greeting',
      ],
      ['/api/message-agents', { name: 'bot', phone_id: phone.id, auto_reply: ctl }, 'auto_reply'],
    ] as const) {
      const res = await t.app.inject({ method: 'POST', url, headers: owner(), payload });
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().errors).toContainEqual(expect.objectContaining({ field }));
    }
    // Tab and line breaks are text.
    const ok = await create(t.app, '/api/message-agents', [a.owner, a.org, 'owner'], {
      name: 'tabs',
      phone_id: phone.id,
      auto_reply: 'Thanks!\n\tWe will call back.\r\n',
    });
    expect(ok.id).toBeTruthy();
  });

  it('text stored with one never crashes a webhook: it is spoken and sent without it', async () => {
    const phone = await createVerifiedPhone(t.app, t.database, owner(), {
      number: uniqueNumber(),
    });
    const agent = await create(t.app, '/api/agents', [a.owner, a.org, 'owner'], {
      name: 'Bell',
      direction: 'incoming',
      phone_id: phone.id,
      greeting: 'Hello',
      media_stream_url: 'wss://agents.example.test/s',
    });
    const bot = await create(t.app, '/api/message-agents', [a.owner, a.org, 'owner'], {
      name: 'bot',
      phone_id: phone.id,
      auto_reply: 'Thanks',
    });
    // As text stored before the API refused it (or written by any other path).
    await withSystem(t.database, async (tx) => {
      await tx.updateTable('agents').set({ greeting: ctl }).where('id', '=', agent.id).execute();
      await tx
        .updateTable('message_agents')
        .set({ auto_reply: `Thanks\u0001${ctl}` })
        .where('id', '=', bot.id)
        .execute();
    });
    const voice = await twilioPost(
      t.app,
      '/webhooks/twilio/voice',
      callParams({ To: phone.number }),
    );
    expect(voice.statusCode, voice.body).toBe(200);
    expect(voice.body).toContain('<Say>Hello and welcome</Say>');
    const sms = await twilioPost(t.app, '/webhooks/twilio/sms', smsParams({ To: phone.number }));
    expect(sms.statusCode, sms.body).toBe(200);
    expect(sms.body).toContain('<Message>ThanksHello and welcome</Message>');
  });
});

describe('the webhook owner: keys the caller controls must agree with what we logged', () => {
  it('an org signing with its own account cannot claim another org’s call through its scheduled call id', async () => {
    // Org A's live call, on the platform account.
    const { phoneNumber } = await streamingAgent(t, as(a.owner, a.org, 'owner'), 'wss://w.test/m');
    const call = await incomingCall(t.app, phoneNumber);
    const inbound = callParams({ CallSid: call.callSid, To: phoneNumber });
    const progress = { ...inbound, CallStatus: 'in-progress' };
    expect((await twilioPost(t.app, '/webhooks/twilio/status', progress)).statusCode).toBe(204);
    // Org B has its own account, and a scheduled call of its own whose id it puts in the URL.
    const { agent } = await callingAgent(t, [b.owner, b.org, 'owner']);
    const sched = await create(t.app, '/api/scheduled-calls', [b.owner, b.org, 'owner'], {
      agent_id: agent.id,
      to: '+14155550188',
      scheduled_at: new Date(Date.now() + 3600_000).toISOString(),
    });
    const before = await counts();
    const forged = await twilioPost(
      t.app,
      `/webhooks/twilio/status?scheduled_call_id=${sched.id}`,
      { ...inbound, AccountSid: B_SID, CallStatus: 'completed', CallDuration: '1' },
      { token: B_TOKEN },
    );
    expect(forged.statusCode).toBe(403);
    expect(await counts()).toEqual(before);
    // A's real callback still ends A's call.
    const real = { ...inbound, CallStatus: 'completed', CallDuration: '95' };
    expect((await twilioPost(t.app, '/webhooks/twilio/status', real)).statusCode).toBe(204);
    const row = await withSystem(t.database, (tx) =>
      tx
        .selectFrom('calls')
        .select(['status', 'duration_seconds', 'org_id'])
        .where('call_sid', '=', call.callSid)
        .executeTakeFirstOrThrow(),
    );
    expect(row).toEqual({ status: 'completed', duration_seconds: 95, org_id: a.org.id });
  });
});

describe('a replayed voice webhook', () => {
  it('for a call that has ended hangs up: no media token, no live-call slot', async () => {
    const owner = as(a.owner, a.org, 'owner');
    const live = async () =>
      (await t.app.inject({ url: '/api/orgs/current/usage', headers: owner })).json().live_calls
        .live as number;
    const { phoneNumber } = await streamingAgent(t, owner, 'wss://w.test/replay');
    const params = callParams({ To: phoneNumber });
    const first = await twilioPost(t.app, '/webhooks/twilio/voice', params);
    expect(first.body).toContain('<Parameter name="token"');
    const during = await live();
    const done = { ...params, CallStatus: 'completed', CallDuration: '30' };
    expect((await twilioPost(t.app, '/webhooks/twilio/status', done)).statusCode).toBe(204);
    expect(await live()).toBe(during - 1);

    // Signatures carry no timestamp: the captured request is still validly signed.
    const replay = await twilioPost(t.app, '/webhooks/twilio/voice', params);
    expect(replay.statusCode).toBe(200);
    expect(replay.body).toContain('<Hangup/>');
    expect(replay.body).not.toContain('token');
    expect(await live()).toBe(during - 1);
  });
});

describe('a call that ends while its voice webhook is being answered', () => {
  it('hangs up and gives the slot back: the status callback ran before the slot was taken', async () => {
    const owner = as(a.owner, a.org, 'owner');
    const live = async () =>
      (await t.app.inject({ url: '/api/orgs/current/usage', headers: owner })).json().live_calls
        .live as number;
    const { phoneNumber } = await streamingAgent(t, owner, 'wss://w.test/race');
    const params = callParams({ To: phoneNumber });
    const before = await live();
    // Hold the voice webhook at the slot's acquire until the call's end has been recorded.
    const quotas = t.app.quotas!;
    const acquire = quotas.acquire.bind(quotas);
    let reached!: () => void;
    const atGate = new Promise<void>((r) => {
      reached = r;
    });
    let open!: () => void;
    const gate = new Promise<void>((r) => {
      open = r;
    });
    quotas.acquire = async (...args: Parameters<typeof acquire>) => {
      if (args[1] === 'live_calls') {
        reached();
        await gate;
      }
      return acquire(...args);
    };
    try {
      const voice = twilioPost(t.app, '/webhooks/twilio/voice', params);
      await atGate;
      const done = { ...params, CallStatus: 'completed', CallDuration: '1' };
      expect((await twilioPost(t.app, '/webhooks/twilio/status', done)).statusCode).toBe(204);
      open();
      const answer = await voice;
      expect(answer.statusCode).toBe(200);
      expect(answer.body).toContain('<Hangup/>');
      expect(answer.body).not.toContain('token');
    } finally {
      quotas.acquire = acquire;
    }
    expect(await live()).toBe(before);
  });
});
