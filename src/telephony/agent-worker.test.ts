// End to end over real sockets: a listening Switchboard answers a signed incoming-call webhook
// with TwiML carrying a media token; the example agent worker (examples/agent-worker.ts), which
// knows nothing but Switchboard's URL and its own, verifies that token against the JWKS when
// "Twilio" opens the stream — and refuses another call's token, an expired token, an access
// token and a tampered token.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type AgentWorker, startAgentWorker } from '../../examples/agent-worker.ts';
import { buildTestApp, type TestApp } from '../test/app.ts';
import { fakeSid } from '../test/fake-twilio.ts';
import { type Team, team } from '../test/org-helpers.ts';
import { incomingCall, PLATFORM_SID, streamingAgent, twilioEnv } from '../test/twilio.ts';
import { createMediaTokens } from './stream-token.ts';

let t: TestApp;
let a: Team;
let worker: AgentWorker;
let workerUrl: string;
let phoneNumber: string;
let agentId: string;

beforeAll(async () => {
  t = await buildTestApp({ env: twilioEnv() });
  const switchboardUrl = await t.app.listen({ host: '127.0.0.1', port: 0 });
  a = await team(t);
  worker = await startAgentWorker({
    port: 0,
    host: '127.0.0.1',
    switchboardUrl,
    issuer: t.config.auth.issuer,
    publicUrl: (port) => `ws://127.0.0.1:${port}/media`,
    orgIds: [a.org.id],
  });
  workerUrl = worker.publicUrl;
  ({ phoneNumber, agentId } = await streamingAgent(t, a.owner.headers, workerUrl));
});
afterAll(async () => {
  await worker?.close();
  await t.close();
});

async function callToWorker(): Promise<{ callSid: string; token: string }> {
  const { callSid, twiml, token } = await incomingCall(t.app, phoneNumber);
  expect(/<Stream url="([^"]+)">/.exec(twiml)?.[1]).toBe(workerUrl);
  return { callSid, token };
}

/**
 * Open the stream as Twilio does (connected, then start with the call and custom parameters) and
 * report how the worker answered: 'accepted' (its mark) or the close code.
 */
function stream(callSid: string, token: string): Promise<'accepted' | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(workerUrl);
    const streamSid = `MZ${'0'.repeat(32)}`;
    ws.on('open', () => {
      ws.send(JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' }));
      ws.send(
        JSON.stringify({
          event: 'start',
          sequenceNumber: '1',
          streamSid,
          start: {
            accountSid: PLATFORM_SID,
            streamSid,
            callSid,
            tracks: ['inbound'],
            customParameters: { token },
            mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
          },
        }),
      );
      // Audio right behind the start, as Twilio sends it: never a reason to refuse.
      ws.send(JSON.stringify({ event: 'media', streamSid, media: { payload: 'AAAA' } }));
    });
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString());
      if (msg.event === 'mark' && msg.streamSid === streamSid) {
        resolve('accepted');
        ws.close();
      }
    });
    ws.on('close', (code) => resolve(code));
    ws.on('error', reject);
  });
}

describe('example agent worker', () => {
  it('accepts the media token from the TwiML for its call', async () => {
    const { callSid, token } = await callToWorker();
    expect(await stream(callSid, token)).toBe('accepted');
  });

  it('refuses a token for another CallSid (1008)', async () => {
    const { token } = await callToWorker();
    const other = await callToWorker();
    expect(await stream(other.callSid, token)).toBe(1008);
    expect(await stream(fakeSid('CA'), token)).toBe(1008);
  });

  it('refuses an expired token (1008)', async () => {
    const { callSid } = await callToWorker();
    const expired = await createMediaTokens({
      getKeyRing: () => t.app.auth.getKeyRing(),
      issuer: t.config.auth.issuer,
      ttlSeconds: t.config.twilio.streamTokenTtlSeconds,
      now: () => Date.now() - 3_600_000,
    }).sign({
      callSid,
      orgId: a.org.id,
      agentId: agentId,
      direction: 'inbound',
      audience: workerUrl,
    });
    expect(await stream(callSid, expired)).toBe(1008);
  });

  it("refuses another org's call to the same URL: a genuine token, of an org it does not serve (1008)", async () => {
    // Any org may name this worker's URL as its agent's media_stream_url (it is no secret).
    const b = await team(t, 'Freeloader');
    const theirs = await streamingAgent(t, b.owner.headers, workerUrl);
    const { callSid, twiml, token } = await incomingCall(t.app, theirs.phoneNumber);
    expect(/<Stream url="([^"]+)">/.exec(twiml)?.[1]).toBe(workerUrl);
    expect(await stream(callSid, token)).toBe(1008);
  });

  it('refuses an access token, even one signed by the same key (1008)', async () => {
    const { callSid } = await callToWorker();
    expect(await stream(callSid, a.owner.access)).toBe(1008);
  });

  it('refuses a tampered token, and a missing one (1008)', async () => {
    const { callSid, token } = await callToWorker();
    const [h, p, s] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    const forged = Buffer.from(JSON.stringify({ ...claims, exp: claims.exp + 3600 })).toString(
      'base64url',
    );
    expect(await stream(callSid, `${h}.${forged}.${s}`)).toBe(1008);
    expect(await stream(callSid, '')).toBe(1008);
    // The genuine token still works: the refusals were about the tokens, not the worker.
    expect(await stream(callSid, token)).toBe('accepted');
  });
});
