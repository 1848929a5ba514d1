// Media-token introspection, hostile cases: the endpoint answers {active:true, …} only for a
// valid media token of the caller's own org whose call is still live; every other token —
// tampered, expired, another org's, an access token, an unknown or ended call — is a bare
// {active:false} with 200, so it reveals nothing. Callers need calls:read (scope or role).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../http/ids.ts';
import { buildTestApp, type TestApp } from '../test/app.ts';
import { fakeSid } from '../test/fake-twilio.ts';
import { createKey, type Team, team } from '../test/org-helpers.ts';
import { callParams, incomingCall, streamingAgent, twilioEnv, twilioPost } from '../test/twilio.ts';
import { createMediaTokens } from './stream-token.ts';

const URL_ = '/api/telephony/media-tokens/introspect';
const STREAM_URL = 'wss://agents.example.test/media';

let t: TestApp;
let a: Team;
let b: Team;
let agentId: string;
let phoneNumber: string;
let keyA: Record<string, string>;
let keyB: Record<string, string>;

const introspect = (headers: Record<string, string>, payload: unknown) =>
  t.app.inject({ method: 'POST', url: URL_, headers, payload: payload as object });

/** Answer an incoming call to org A's agent; returns its CallSid and the TwiML's media token. */
const liveCall = () => incomingCall(t.app, phoneNumber);

const signer = (now?: () => number) =>
  createMediaTokens({
    getKeyRing: () => t.app.auth.getKeyRing(),
    issuer: t.config.auth.issuer,
    ttlSeconds: t.config.twilio.streamTokenTtlSeconds,
    now,
  });

beforeAll(async () => {
  t = await buildTestApp({ env: twilioEnv() });
  a = await team(t, 'Org A');
  b = await team(t, 'Org B');
  ({ phoneNumber, agentId } = await streamingAgent(t, a.owner.headers, STREAM_URL));
  keyA = (await createKey(t.app, a.owner, ['calls:read'])).headers;
  keyB = (await createKey(t.app, b.owner, ['calls:read'])).headers;
});
afterAll(() => t.close());

describe('media-token introspection', () => {
  it('a live call: active, with call, org, agent and exp (API key with calls:read)', async () => {
    const { callSid, token } = await liveCall();
    const res = await introspect(keyA, { token });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toEqual({
      active: true,
      call_sid: callSid,
      org_id: a.org.id,
      agent_id: agentId,
      exp: expect.any(Number),
    });
    expect(body.exp).toBeGreaterThan(Date.now() / 1000);
  });

  it('a session whose role has calls:read and sees the call may ask too', async () => {
    const { token } = await liveCall();
    expect((await introspect(a.manager.headers, { token })).json()).toMatchObject({
      active: true,
    });
  });

  it('refuses callers without calls:read (401 / 403), and malformed bodies (400)', async () => {
    const { token } = await liveCall();
    expect((await introspect({}, { token })).statusCode).toBe(401);
    const promptsOnly = (await createKey(t.app, a.owner, ['prompts:read'])).headers;
    const res = await introspect(promptsOnly, { token });
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('forbidden');
    for (const body of [{}, { token: '' }, { token, extra: 1 }, { token: 42 }]) {
      const bad = await introspect(keyA, body);
      expect(bad.statusCode, JSON.stringify(body)).toBe(400);
      expect(bad.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
    expect((await introspect(keyA, { token: 'x'.repeat(5000) })).statusCode).toBe(400);
  });

  it('every refused token is a bare {active:false}, 200', async () => {
    const { callSid, token } = await liveCall();
    const [h, p, s] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...claims, agent: newId() })).toString('base64url')}.${s}`;
    const expired = await signer(() => Date.now() - 3_600_000).sign({
      callSid,
      orgId: a.org.id,
      agentId,
      direction: 'inbound',
      audience: STREAM_URL,
    });
    const unknownCall = await signer().sign({
      callSid: fakeSid('CA'),
      orgId: a.org.id,
      agentId,
      direction: 'inbound',
      audience: STREAM_URL,
    });
    const otherAgent = await signer().sign({
      callSid,
      orgId: a.org.id,
      agentId: newId(),
      direction: 'inbound',
      audience: STREAM_URL,
    });
    const cases: Record<string, string> = {
      tampered,
      expired,
      unknownCall,
      otherAgent,
      accessToken: a.owner.access,
      junk: 'not-a-token',
    };
    for (const [name, tok] of Object.entries(cases)) {
      const res = await introspect(keyA, { token: tok });
      expect(res.statusCode, name).toBe(200);
      expect(res.json(), name).toEqual({ active: false });
    }
  });

  it("another org's key learns nothing about org A's token", async () => {
    const { token } = await liveCall();
    expect((await introspect(keyB, { token })).json()).toEqual({ active: false });
    expect((await introspect(b.owner.headers, { token })).json()).toEqual({ active: false });
    // Control: org A's own key still sees it active.
    expect((await introspect(keyA, { token })).json()).toMatchObject({ active: true });
  });

  it('a media token is no credential: as a bearer token it is refused (401)', async () => {
    const { token } = await liveCall();
    for (const url of ['/api/calls', '/api/users/me']) {
      const res = await t.app.inject({ url, headers: { authorization: `Bearer ${token}` } });
      expect(res.statusCode, url).toBe(401);
    }
    expect((await introspect({ authorization: `Bearer ${token}` }, { token })).statusCode).toBe(
      401,
    );
  });

  it('a member who cannot see the call gets {active:false}', async () => {
    const { token } = await liveCall();
    expect((await introspect(a.member.headers, { token })).json()).toEqual({ active: false });
  });

  it('once the call has ended, its token is no longer active', async () => {
    for (const status of ['completed', 'failed', 'canceled', 'no-answer', 'busy']) {
      const { callSid, token } = await liveCall();
      expect((await introspect(keyA, { token })).json(), status).toMatchObject({ active: true });
      const res = await twilioPost(t.app, '/webhooks/twilio/status', {
        ...callParams({ To: phoneNumber, CallSid: callSid }),
        CallStatus: status,
        CallbackSource: 'call-progress-events',
        SequenceNumber: '1',
      });
      expect(res.statusCode).toBe(204);
      expect((await introspect(keyA, { token })).json(), status).toEqual({ active: false });
    }
  });
});
