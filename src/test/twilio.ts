// Test helpers for Twilio: webhook requests signed with the `twilio` package's own helper (so the
// validator is checked against Twilio's algorithm, not a copy of ours), and voice fixtures.
import { randomInt } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import twilio from 'twilio';
import type { Database } from '../db/database.ts';
import type { Role } from '../db/schema.ts';
import { withSystem } from '../db/tenant.ts';
import { as, buildTestApp, type TestApp } from './app.ts';
import { createVerifiedPhone } from './factories.ts';
import { type FakeTwilio, fakeSid, startFakeTwilio } from './fake-twilio.ts';

export const PUBLIC_URL = 'https://switchboard.example.test';
export const PLATFORM_SID = `AC${'1'.repeat(32)}`;
export const PLATFORM_TOKEN = 'platformtoken0123456789abcdef012';

export function twilioEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PUBLIC_URL,
    TWILIO_ACCOUNT_SID: PLATFORM_SID,
    TWILIO_AUTH_TOKEN: PLATFORM_TOKEN,
    ...extra,
  };
}

export interface SignOptions {
  /** Auth token to sign with (default: the platform's). */
  token?: string;
  /** URL to sign (default: PUBLIC_URL + path). */
  signedUrl?: string;
  /** Override the header: null sends none. */
  signature?: string | null;
}

/** POST a form-encoded webhook the way Twilio does, signed unless told otherwise. */
export function twilioPost(
  app: FastifyInstance,
  path: string,
  params: Record<string, string>,
  opts: SignOptions = {},
) {
  const signature =
    opts.signature === undefined
      ? twilio.getExpectedTwilioSignature(
          opts.token ?? PLATFORM_TOKEN,
          opts.signedUrl ?? `${PUBLIC_URL}${path}`,
          params,
        )
      : opts.signature;
  return app.inject({
    method: 'POST',
    url: path,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(signature === null ? {} : { 'x-twilio-signature': signature }),
    },
    payload: new URLSearchParams(params).toString(),
  });
}

export const callParams = (over: Record<string, string> = {}): Record<string, string> => ({
  CallSid: fakeSid('CA'),
  AccountSid: PLATFORM_SID,
  From: '+14155550100',
  To: '+14155550199',
  CallStatus: 'ringing',
  Direction: 'inbound',
  ApiVersion: '2010-04-01',
  ...over,
});

export const smsParams = (over: Record<string, string> = {}): Record<string, string> => ({
  MessageSid: fakeSid('SM'),
  SmsSid: 'ignored',
  AccountSid: PLATFORM_SID,
  From: '+14155550100',
  To: '+14155550199',
  Body: 'Hello there',
  NumMedia: '0',
  SmsStatus: 'received',
  ApiVersion: '2010-04-01',
  ...over,
});

/** A random North American E.164 number (tests share nothing). */
export function uniqueNumber(): string {
  return `+1${randomInt(2_000_000_000, 9_999_999_999)}`;
}

type Who = { id: string };

/** Create through the API as (user, org, role) with header auth; throws unless 201. */
export async function create<T = Record<string, unknown>>(
  app: FastifyInstance,
  path: string,
  who: [Who, Who, Role],
  payload: Record<string, unknown>,
): Promise<T & { id: string }> {
  const res = await app.inject({ method: 'POST', url: path, headers: as(...who), payload });
  if (res.statusCode !== 201) throw new Error(`POST ${path}: ${res.statusCode} ${res.body}`);
  return res.json();
}

/**
 * A verified phone with an outgoing agent on it (extra agent fields in `agentFields`), created
 * through the API as (user, org, role) with header auth: what placing a call starts from.
 */
export async function callingAgent(
  t: Pick<TestApp, 'app' | 'database'>,
  who: [Who, Who, Role],
  agentFields: Record<string, unknown> = {},
): Promise<{ phone: { id: string; number: string }; agent: { id: string } }> {
  const phone = await createVerifiedPhone(t.app, t.database, as(...who), {
    number: uniqueNumber(),
  });
  const agent = await create(t.app, '/api/agents', who, {
    name: 'caller',
    direction: 'outgoing',
    phone_id: phone.id,
    // Where its calls' audio goes: a call is scheduled and placed only through an agent with one.
    media_stream_url: 'wss://agents.example.test/stream',
    ...agentFields,
  });
  return { phone, agent };
}

/**
 * A verified phone with an active incoming agent on it that streams its calls to
 * `mediaStreamUrl`, created through the API with `headers` (a team owner's).
 */
export async function streamingAgent(
  t: TestApp,
  headers: Record<string, string>,
  mediaStreamUrl: string,
): Promise<{ phoneNumber: string; agentId: string }> {
  const phone = await createVerifiedPhone(t.app, t.database, headers, { number: uniqueNumber() });
  const payload = {
    name: 'Receptionist',
    direction: 'incoming',
    phone_id: phone.id,
    media_stream_url: mediaStreamUrl,
  };
  const res = await t.app.inject({ method: 'POST', url: '/api/agents', headers, payload });
  if (res.statusCode !== 201) throw new Error(`POST /api/agents: ${res.statusCode} ${res.body}`);
  return { phoneNumber: phone.number, agentId: (res.json() as { id: string }).id };
}

/** Twilio's signed incoming-call webhook to `to`: its CallSid, the TwiML and its media token. */
export async function incomingCall(
  app: FastifyInstance,
  to: string,
): Promise<{ callSid: string; twiml: string; token: string }> {
  const params = callParams({ To: to });
  const res = await twilioPost(app, '/webhooks/twilio/voice', params);
  if (res.statusCode !== 200) throw new Error(`voice webhook: ${res.statusCode} ${res.body}`);
  const token = /<Parameter name="token" value="([^"]+)"\/>/.exec(res.body)?.[1];
  if (!token) throw new Error(`no media token in the TwiML: ${res.body}`);
  return { callSid: params.CallSid as string, twiml: res.body, token };
}

/** Moves a scheduled call's next attempt a second into the past: the next dispatch takes it. */
export function makeScheduledCallDue(database: Database, id: string) {
  return withSystem(database, (tx) =>
    tx
      .updateTable('scheduled_calls')
      .set({ next_attempt_at: new Date(Date.now() - 1000) })
      .where('id', '=', id)
      .execute(),
  );
}

/** A scheduled call as stored. */
export function scheduledCallRow(database: Database, id: string) {
  return withSystem(database, (tx) =>
    tx.selectFrom('scheduled_calls').selectAll().where('id', '=', id).executeTakeFirstOrThrow(),
  );
}

/**
 * The platform's account on a fake Twilio server, and an app (callers named by x-test-* headers)
 * that places its calls there: what the dispatcher tests drive. `close` stops both.
 */
export async function appOnFakeTwilio(
  env: Record<string, string> = {},
): Promise<{ t: TestApp; fake: FakeTwilio; close(): Promise<void> }> {
  const fake = await startFakeTwilio({ [PLATFORM_SID]: PLATFORM_TOKEN });
  const t = await buildTestApp({
    headerAuth: true,
    env: twilioEnv({ TWILIO_API_URL: fake.url, ...env }),
  });
  return {
    t,
    fake,
    async close() {
      await t.close();
      await fake.close();
    },
  };
}
