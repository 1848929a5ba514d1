// The calling window changed while the dispatcher puts a call off under the old one, on PostgreSQL
// (one pool, real row locks; PGlite runs one transaction at a time). Setting or removing the window
// clears the org's deferrals in its transaction; a deferral written after that clear but computed
// from the window the claim read would outlive the change and hold the call until an opening that
// no longer applies. The deferral share-locks the window row first, so it waits for the change to
// commit and then finds the window changed: the call is due again at once.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { withSystem, withTenant } from '../db/tenant.ts';
import { claimDueCalls, markWindowDeferred } from '../telephony/dispatch.repository.ts';
import { as, type TestApp } from '../test/app.ts';
import { createTeam, createVerifiedPhone } from '../test/factories.ts';
import type { FakeTwilio } from '../test/fake-twilio.ts';
import { pgRaces, type Query } from '../test/pg-race.ts';
import {
  appOnFakeTwilio,
  create,
  makeScheduledCallDue,
  scheduledCallRow,
  uniqueNumber,
} from '../test/twilio.ts';
import { dispatchGate } from './rules.ts';

let fake: FakeTwilio;
let t: TestApp;
let a: Awaited<ReturnType<typeof createTeam>>;
let agent: { id: string };
const owner = () => as(a.owner, a.org, 'owner');

beforeAll(async () => {
  ({ t, fake } = await appOnFakeTwilio());
  a = await createTeam(t.database);
  const phone = await createVerifiedPhone(t.app, t.database, owner(), { number: uniqueNumber() });
  agent = await create(t.app, '/api/agents', [a.owner, a.org, 'owner'], {
    name: 'Caller',
    direction: 'outgoing',
    phone_id: phone.id,
    greeting: 'Hello',
    media_stream_url: 'wss://worker.example.test/media',
  });
});
afterAll(async () => {
  await t?.close();
  await fake?.close();
});

const { during } = pgRaces(() => t);

/** PUT /calling-window as it runs: the window row written, the org's deferrals cleared. */
const windowChange = (orgId: string) => async (q: Query) => {
  await q(
    `UPDATE org_calling_windows SET start_minute = 0, end_minute = 1440, updated_at = now()
      WHERE org_id = $1`,
    [orgId],
  );
  await q(
    `UPDATE scheduled_calls SET window_deferred_until = NULL
      WHERE org_id = $1 AND status = 'pending' AND window_deferred_until IS NOT NULL`,
    [orgId],
  );
};

it('a deferral under the window the claim read does not outlive a change committing meanwhile', async () => {
  // Every day, closed now: it opens two hours on.
  const start = (new Date().getUTCHours() + 2) % 24;
  const clock = (h: number) => `${String(h).padStart(2, '0')}:00`;
  const put = await t.app.inject({
    method: 'PUT',
    url: '/api/orgs/current/calling-window',
    headers: owner(),
    payload: {
      time_zone: 'UTC',
      days: [1, 2, 3, 4, 5, 6, 7],
      start: clock(start),
      end: clock(start + 1),
    },
  });
  expect(put.statusCode, put.body).toBe(200);
  const scheduled = await t.app.inject({
    method: 'POST',
    url: '/api/scheduled-calls',
    headers: owner(),
    payload: {
      agent_id: agent.id,
      to: uniqueNumber(),
      scheduled_at: new Date(Date.now() + 3_600_000).toISOString(),
    },
  });
  expect(scheduled.statusCode, scheduled.body).toBe(201);
  const id = scheduled.json().id as string;
  await makeScheduledCallDue(t.database, id);
  const claimed = await withSystem(t.database, (tx) => claimDueCalls(tx, 100, 30));
  const mine = claimed.find((c) => c.id === id)!;
  const gate = dispatchGate(mine, new Date());
  if (gate.kind !== 'defer') throw new Error(`expected a deferral, got ${gate.kind}`);

  const service = { orgId: a.org.id, userId: null, role: null };
  const owned = await during(windowChange(a.org.id), () =>
    withTenant(t.database, service, (tx) =>
      markWindowDeferred(tx, a.org.id, id, mine.dispatch_key, gate.until, gate.window),
    ),
  );
  expect(owned).toBe(true);
  expect(await scheduledCallRow(t.database, id)).toMatchObject({
    status: 'pending',
    attempts: 0,
    window_deferred_until: null,
  });
  await t.app.dispatcher.runOnce();
  expect(fake.calls.filter((c) => c.scheduledCallId === id)).toHaveLength(1);
});
