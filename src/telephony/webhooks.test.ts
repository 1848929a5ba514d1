// Twilio webhooks, happy paths: incoming call TwiML and call log, status callbacks, SMS with
// auto-reply, conversations. Requests are signed with the twilio package's own helper.
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { withSystem } from '../db/tenant.ts';
import { newId } from '../http/ids.ts';
import { appForFile, as } from '../test/app.ts';
import { createTeam, createVerifiedPhone } from '../test/factories.ts';
import {
  callParams,
  create,
  smsParams,
  twilioEnv,
  twilioPost,
  uniqueNumber,
} from '../test/twilio.ts';

const t = appForFile({ headerAuth: true, env: twilioEnv() });
let a: Awaited<ReturnType<typeof createTeam>>;
let phone: { id: string; number: string };
let bare: { id: string; number: string };
let agent: { id: string };
const owner = () => [a.owner, a.org, 'owner'] as const;

beforeAll(async () => {
  a = await createTeam(t.database);
  phone = await createVerifiedPhone(t.app, t.database, as(...owner()), {
    number: uniqueNumber(),
    label: 'Main',
  });
  bare = await createVerifiedPhone(t.app, t.database, as(...owner()), { number: uniqueNumber() });
  agent = await create(t.app, '/api/agents', [...owner()], {
    name: 'Receptionist',
    direction: 'incoming',
    phone_id: phone.id,
    greeting: 'Hi, this is Ada & co. <How> can I help?',
    voice: 'Polly.Joanna',
    language: 'en-US',
    media_stream_url: 'wss://agents.example.test/stream?tenant=a&x=1',
  });
  await create(t.app, '/api/message-agents', [...owner()], {
    name: 'SMS bot',
    phone_id: phone.id,
    auto_reply: 'Thanks! We will call you back.',
  });
});

const getCall = (sid: string) =>
  t.app.inject({ url: `/api/calls/${sid}`, headers: as(...owner()) });

describe('incoming call', () => {
  it('greets and connects to the agent media stream with a stream token bound to call, org and agent', async () => {
    const params = callParams({ To: phone.number });
    const res = await twilioPost(t.app, '/webhooks/twilio/voice', params);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/xml/);
    const xml = res.body;
    expect(xml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?><Response>/);
    expect(xml).toContain(
      '<Say voice="Polly.Joanna" language="en-US">Hi, this is Ada &amp; co. &lt;How&gt; can I help?</Say>',
    );
    expect(xml).toContain(
      '<Connect><Stream url="wss://agents.example.test/stream?tenant=a&amp;x=1"><Parameter name="token" value="',
    );
    expect(xml).toMatch(/<\/Stream><\/Connect><\/Response>$/);
    expect(xml.indexOf('<Say')).toBeLessThan(xml.indexOf('<Connect>'));
    const token = /<Parameter name="token" value="([^"]+)"\/>/.exec(xml)?.[1];
    // The media token verifies against the public JWKS alone, bound to call, org and agent.
    const jwks = createLocalJWKSet((await t.app.inject({ url: '/.well-known/jwks.json' })).json());
    const { payload } = await jwtVerify(token!, jwks, {
      typ: 'media+jwt',
      issuer: t.config.auth.issuer,
      audience: 'wss://agents.example.test/stream?tenant=a&x=1',
      algorithms: ['EdDSA'],
    });
    expect(payload).toMatchObject({
      sub: params.CallSid,
      org: a.org.id,
      agent: agent.id,
      call_direction: 'inbound',
    });
    expect(payload.exp! - payload.iat!).toBe(t.config.twilio.streamTokenTtlSeconds);
    expect(decodeProtectedHeader(token!).kid).toBe(t.app.auth.getKeyRing().active.kid);

    const call = await getCall(params.CallSid as string);
    expect(call.statusCode).toBe(200);
    expect(call.json()).toMatchObject({
      call_sid: params.CallSid,
      org_id: a.org.id,
      phone_id: phone.id,
      agent_id: agent.id,
      direction: 'inbound',
      from: params.From,
      to: phone.number,
      status: 'ringing',
      answered_at: null,
      duration_seconds: null,
    });
  });

  it('status callbacks move the call forward and set answered, ended and duration', async () => {
    const params = callParams({ To: phone.number });
    await twilioPost(t.app, '/webhooks/twilio/voice', params);
    const base = { ...params, CallbackSource: 'call-progress-events', SequenceNumber: '0' };
    const inProgress = await twilioPost(t.app, '/webhooks/twilio/status', {
      ...base,
      CallStatus: 'in-progress',
    });
    expect(inProgress.statusCode).toBe(204);
    const live = await t.app.inject({ url: '/api/calls/active', headers: as(...owner()) });
    expect(live.json().items.map((c: { call_sid: string }) => c.call_sid)).toContain(
      params.CallSid,
    );
    await twilioPost(t.app, '/webhooks/twilio/status', {
      ...base,
      CallStatus: 'completed',
      CallDuration: '42',
      SequenceNumber: '1',
    });
    const done = (await getCall(params.CallSid as string)).json();
    expect(done).toMatchObject({ status: 'completed', duration_seconds: 42 });
    expect(done.answered_at).not.toBeNull();
    expect(done.ended_at).not.toBeNull();
    // A late "ringing" changes nothing.
    await twilioPost(t.app, '/webhooks/twilio/status', { ...base, CallStatus: 'ringing' });
    expect((await getCall(params.CallSid as string)).json()).toEqual(done);
    const after = await t.app.inject({ url: '/api/calls/active', headers: as(...owner()) });
    expect(after.json().items.map((c: { call_sid: string }) => c.call_sid)).not.toContain(
      params.CallSid,
    );
  });

  it('with no active agent: a polite message, a hang-up, and the call still logged', async () => {
    const params = callParams({ To: bare.number });
    const res = await twilioPost(t.app, '/webhooks/twilio/voice', params);
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(/<Response><Say>Sorry, [^<]+<\/Say><Hangup\/><\/Response>$/);
    expect(res.body).not.toContain('<Connect>');
    expect((await getCall(params.CallSid as string)).json()).toMatchObject({
      phone_id: bare.id,
      agent_id: null,
    });
  });

  it('an inactive agent does not take calls', async () => {
    const other = await createVerifiedPhone<{ number: string }>(t.app, t.database, as(...owner()), {
      number: uniqueNumber(),
    });
    await create(t.app, '/api/agents', [...owner()], {
      name: 'Off duty',
      direction: 'incoming',
      phone_id: other.id,
      active: false,
      media_stream_url: 'wss://agents.example.test/off',
    });
    const res = await twilioPost(t.app, '/webhooks/twilio/voice', callParams({ To: other.number }));
    expect(res.body).toContain('<Hangup/>');
  });

  it('a number no org routes: "not in service", and nothing is stored', async () => {
    const params = callParams({ To: uniqueNumber() });
    const res = await twilioPost(t.app, '/webhooks/twilio/voice', params);
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('not in service');
    expect(res.body).toContain('<Hangup/>');
    const rows = await withSystem(t.database, (tx) =>
      tx
        .selectFrom('calls')
        .select('id')
        .where('call_sid', '=', params.CallSid as string)
        .execute(),
    );
    expect(rows).toHaveLength(0);
  });
});

describe('incoming SMS', () => {
  it('logs the message and answers with the auto-reply as <Message> TwiML', async () => {
    const params = smsParams({ To: phone.number, From: '+14155550123', Body: 'Are you open?' });
    const res = await twilioPost(t.app, '/webhooks/twilio/sms', params);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/xml/);
    expect(res.body).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Thanks! We will call you back.</Message></Response>',
    );
    const list = await t.app.inject({
      url: '/api/messages?counterpart=%2B14155550123',
      headers: as(...owner()),
    });
    expect(list.json().items).toMatchObject([
      { direction: 'outbound', body: 'Thanks! We will call you back.', message_sid: null },
      {
        direction: 'inbound',
        body: 'Are you open?',
        message_sid: params.MessageSid,
        from: '+14155550123',
      },
    ]);
  });

  it('a phone without a messaging agent answers an empty <Response/>', async () => {
    const res = await twilioPost(t.app, '/webhooks/twilio/sms', smsParams({ To: bare.number }));
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('<?xml version="1.0" encoding="UTF-8"?><Response/>');
  });

  it("phoneless=true lists a number's texts logged without a phone, and only those", async () => {
    const x = '+14155550911';
    const line = await createVerifiedPhone<{ number: string }>(t.app, t.database, as(...owner()), {
      number: uniqueNumber(),
    });
    await twilioPost(t.app, '/webhooks/twilio/sms', smsParams({ To: line.number, From: x }));
    // A text logged without a routing phone (phone_id null): a conversation of its own.
    const orgId = owner()[1].id;
    await withSystem(t.database, (tx) =>
      tx
        .insertInto('messages')
        .values({
          id: newId(),
          org_id: orgId,
          message_sid: `SM${'b'.repeat(32)}`,
          phone_id: null,
          direction: 'inbound',
          from_number: x,
          to_number: '+14155550998',
          counterpart: x,
          body: 'Sent to your old number',
          status: 'received',
        })
        .execute(),
    );
    const list = (query: string) =>
      t.app.inject({ url: `/api/messages?${query}`, headers: as(...owner()) });
    const every = await list(`counterpart=${encodeURIComponent(x)}`);
    expect(every.json().items.length).toBeGreaterThanOrEqual(2);
    const phoneless = await list(`counterpart=${encodeURIComponent(x)}&phoneless=true`);
    expect(phoneless.statusCode).toBe(200);
    expect(
      phoneless
        .json()
        .items.map((m: { body: string; phone_id: string | null }) => [m.body, m.phone_id]),
    ).toEqual([['Sent to your old number', null]]);
    // With a phone too: the two filters exclude each other.
    const both = await list(`phoneless=true&phone_id=${line.id}`);
    expect(both.statusCode).toBe(400);
    expect(both.json()).toMatchObject({
      code: 'validation_failed',
      errors: [{ field: 'phoneless', message: 'must not be set with phone_id' }],
    });
  });

  it('conversations group by counterpart, newest first, with counts', async () => {
    const x = '+14155550901';
    const y = '+14155550902';
    const line = await createVerifiedPhone<{ number: string }>(t.app, t.database, as(...owner()), {
      number: uniqueNumber(),
    });
    await twilioPost(t.app, '/webhooks/twilio/sms', smsParams({ To: line.number, From: x }));
    await twilioPost(t.app, '/webhooks/twilio/sms', smsParams({ To: line.number, From: y }));
    await twilioPost(
      t.app,
      '/webhooks/twilio/sms',
      smsParams({ To: line.number, From: x, Body: 'again' }),
    );
    const res = await t.app.inject({
      url: `/api/messages/conversations?phone_id=${line.id}`,
      headers: as(...owner()),
    });
    expect(res.statusCode).toBe(200);
    const items = res.json().items as {
      counterpart: string;
      message_count: number;
      last_message: { body: string };
    }[];
    expect(items.map((c) => [c.counterpart, c.message_count, c.last_message.body])).toEqual([
      [x, 2, 'again'],
      [y, 1, 'Hello there'],
    ]);
    const page1 = await t.app.inject({
      url: `/api/messages/conversations?phone_id=${line.id}&limit=1`,
      headers: as(...owner()),
    });
    expect(page1.json().items).toHaveLength(1);
    const page2 = await t.app.inject({
      url: `/api/messages/conversations?phone_id=${line.id}&limit=1&cursor=${page1.json().next_cursor}`,
      headers: as(...owner()),
    });
    expect(page2.json().items.map((c: { counterpart: string }) => c.counterpart)).toEqual([y]);
    expect(page2.json().next_cursor).toBeNull();
  });
});
