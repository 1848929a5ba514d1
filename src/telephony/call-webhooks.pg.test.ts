// Everything that writes one call — the voice webhook answering it, its status callbacks, the
// dispatcher recording what it placed — on PostgreSQL, at the same moment, as Twilio sends them:
// the answer webhook and the "answered" callback of a placed call arrive together. They took the
// call's locks (its row, its (call, status) event, its scheduled call) in different orders and
// deadlocked: PostgreSQL aborted one, a 500 — no TwiML for an answered call (Twilio plays an
// application error), or a final callback lost with the call's slot. Every writer now takes the
// call's own lock first. Runs only with DATABASE_URL (PGlite runs one transaction at a time).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { withSystem } from '../db/tenant.ts';
import { newId } from '../http/ids.ts';
import { buildTestApp, type TestApp } from '../test/app.ts';
import { createTeam } from '../test/factories.ts';
import { type FakeCall, type FakeTwilio, startFakeTwilio } from '../test/fake-twilio.ts';
import {
  callingAgent,
  callParams,
  PLATFORM_SID,
  PLATFORM_TOKEN,
  PUBLIC_URL,
  twilioEnv,
  twilioPost,
} from '../test/twilio.ts';

let fake: FakeTwilio;
let t: TestApp;

beforeAll(async () => {
  fake = await startFakeTwilio({ [PLATFORM_SID]: PLATFORM_TOKEN });
  t = await buildTestApp({
    headerAuth: true,
    env: twilioEnv({ TWILIO_API_URL: fake.url, DISPATCHER_BATCH_SIZE: '50' }),
  });
});
afterAll(async () => {
  await t?.close();
  await fake?.close();
});

const pathOf = (url: string) => url.slice(PUBLIC_URL.length);

/** `n` due scheduled calls of a new org, through a verified phone and an outgoing agent. */
async function dueCalls(n: number) {
  const a = await createTeam(t.database);
  const { phone, agent } = await callingAgent(t, [a.owner, a.org, 'owner'], {
    media_stream_url: 'wss://worker.example.test/media',
  });
  const ids = Array.from({ length: n }, () => newId());
  const due = new Date(Date.now() - 1000);
  await withSystem(t.database, (tx) =>
    tx
      .insertInto('scheduled_calls')
      .values(
        ids.map((id, i) => ({
          id,
          org_id: a.org.id,
          owner_id: a.owner.id,
          agent_id: agent.id,
          to_number: `+1415557${String(i).padStart(4, '0')}`,
          scheduled_at: due,
          next_attempt_at: due,
        })),
      )
      .execute(),
  );
  return { phone, ids };
}

const statusOf = (c: FakeCall, from: string, CallStatus: string) =>
  callParams({ CallSid: c.sid, From: from, To: c.to, Direction: 'outbound-api', CallStatus });

it('the answer webhook and the "answered" callback of each placed call, together: no 500', async () => {
  const { phone, ids } = await dueCalls(40);
  await t.app.dispatcher.runOnce();
  const calls = fake.calls.filter((c) => c.scheduledCallId && ids.includes(c.scheduledCallId));
  expect(calls).toHaveLength(ids.length);
  const answers = await Promise.all(
    calls.flatMap((c) => {
      const answered = statusOf(c, phone.number, 'in-progress');
      return [
        twilioPost(t.app, pathOf(c.url), answered),
        twilioPost(t.app, pathOf(c.statusCallback!), answered),
      ];
    }),
  );
  const failed = answers.filter((r) => r.statusCode >= 500).map((r) => r.body);
  expect(failed).toEqual([]);
  for (const [i, r] of answers.entries()) {
    expect(r.statusCode).toBe(i % 2 === 0 ? 200 : 204);
    if (i % 2 === 0) expect(r.body).toContain('<Stream url="wss://worker.example.test/media">');
  }
  const statuses = await withSystem(t.database, (tx) =>
    tx.selectFrom('calls').select('status').where('scheduled_call_id', 'in', ids).execute(),
  );
  expect(statuses.map((s) => s.status)).toEqual(ids.map(() => 'in-progress'));
});

it('a callback arriving while the dispatcher records the call it placed: no 500, placed once', async () => {
  const { phone, ids } = await dueCalls(25);
  const callbacks: Promise<{ statusCode: number; body: string }>[] = [];
  fake.whilePlacing = (c) => {
    if (!c.scheduledCallId || !ids.includes(c.scheduledCallId)) return;
    // Sent as Twilio answers calls.create: it races the dispatcher's own write of the call.
    callbacks.push(
      new Promise((resolve) => setImmediate(resolve)).then(() =>
        twilioPost(t.app, pathOf(c.statusCallback!), statusOf(c, phone.number, 'initiated')),
      ),
    );
  };
  try {
    await t.app.dispatcher.runOnce();
  } finally {
    fake.whilePlacing = undefined;
  }
  const answers = await Promise.all(callbacks);
  expect(answers.filter((r) => r.statusCode !== 204).map((r) => r.body)).toEqual([]);
  const rows = await withSystem(t.database, (tx) =>
    tx.selectFrom('scheduled_calls').select('status').where('id', 'in', ids).execute(),
  );
  expect(rows.map((r) => r.status)).toEqual(ids.map(() => 'dispatched'));
  const logged = await withSystem(t.database, (tx) =>
    tx.selectFrom('calls').select('id').where('scheduled_call_id', 'in', ids).execute(),
  );
  expect(logged).toHaveLength(ids.length);
});
