// Twilio's webhooks of an org being suspended (the kill switch), on PostgreSQL. The webhook's
// owner lookup reads the org's suspended flag without a lock; a suspension committing after that
// read and before the webhook's writes found no call to hang up (its live-call sweep ran first)
// while the webhook went on to store the call and connect it to the agent with a fresh media
// token — a live call in a suspended org that nothing ended — or stored a message and sent the
// auto-reply. The webhook's transaction now share-locks the org and reads the flag again: either
// it sees the suspension, or its call is committed before the suspension's sweep looks.
// Runs only with DATABASE_URL (PGlite runs one transaction at a time).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { withSystem } from '../db/tenant.ts';
import { buildTestApp, type TestApp } from '../test/app.ts';
import { createTeam } from '../test/factories.ts';
import { pgRaces } from '../test/pg-race.ts';
import {
  callingAgent,
  callParams,
  create,
  smsParams,
  twilioEnv,
  twilioPost,
} from '../test/twilio.ts';

let t: TestApp;
const { during } = pgRaces(() => t);

beforeAll(async () => {
  t = await buildTestApp({ headerAuth: true, env: twilioEnv() });
});
afterAll(() => t?.close());

/** The suspension, as the superuser's act writes it, holding the org row until it commits. */
const suspend =
  (orgId: string, by: string) => async (q: (s: string, v?: unknown[]) => Promise<unknown>) => {
    await q(
      `UPDATE orgs SET suspended_at = now(), suspended_reason = 'abuse', suspended_by = $2,
       suspension_kind = 'suspension', updated_at = now() WHERE id = $1`,
      [orgId, by],
    );
  };

it('an incoming call while its org is suspended: not in service, nothing stored', async () => {
  const a = await createTeam(t.database);
  const { phone } = await callingAgent(t, [a.owner, a.org, 'owner'], {
    direction: 'incoming',
    media_stream_url: 'wss://worker.example.test/media',
  });
  const params = callParams({ To: phone.number });
  const res = await during(suspend(a.org.id, a.owner.id), () =>
    twilioPost(t.app, '/webhooks/twilio/voice', params),
  );
  expect(res.statusCode).toBe(200);
  expect(res.body).toContain('not in service');
  expect(res.body).not.toContain('<Connect>');
  const calls = await withSystem(t.database, (tx) =>
    tx.selectFrom('calls').select('id').where('call_sid', '=', params.CallSid!).execute(),
  );
  expect(calls).toEqual([]);
});

it('an SMS while its org is suspended: no auto-reply, nothing stored', async () => {
  const a = await createTeam(t.database);
  const { phone } = await callingAgent(t, [a.owner, a.org, 'owner']);
  await create(t.app, '/api/message-agents', [a.owner, a.org, 'owner'], {
    name: 'texter',
    phone_id: phone.id,
    auto_reply: 'Thanks, we will call you back',
  });
  const params = smsParams({ To: phone.number });
  const res = await during(suspend(a.org.id, a.owner.id), () =>
    twilioPost(t.app, '/webhooks/twilio/sms', params),
  );
  expect(res.statusCode).toBe(200);
  expect(res.body).not.toContain('call you back');
  const stored = await withSystem(t.database, (tx) =>
    tx.selectFrom('messages').select('id').where('org_id', '=', a.org.id).execute(),
  );
  expect(stored).toEqual([]);
});
