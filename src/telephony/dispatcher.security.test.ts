// Caller-ID spoofing and queue flooding: calls are placed only from the org's own active, verified
// numbers — refused when scheduled (409) and again by the dispatcher when the number changed since
// — and an org may have only SCHEDULED_CALLS_MAX_PENDING calls waiting, counted over all its
// members. Driven through the API, the dispatcher and the fake Twilio server (real client).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withSystem } from '../db/tenant.ts';
import { newId } from '../http/ids.ts';
import { as, type TestApp } from '../test/app.ts';
import { createTeam, createVerifiedPhone } from '../test/factories.ts';
import type { FakeTwilio } from '../test/fake-twilio.ts';
import {
  appOnFakeTwilio,
  create,
  makeScheduledCallDue,
  scheduledCallRow,
  uniqueNumber,
} from '../test/twilio.ts';

type Team = Awaited<ReturnType<typeof createTeam>>;
type Who = [{ id: string }, { id: string }, 'owner' | 'member'];

let fake: FakeTwilio;
let t: TestApp;
let a: Team; // holds the verified number
let b: Team; // registers the same number to call from it
const MAX_PENDING = 3;

beforeAll(async () => {
  ({ t, fake } = await appOnFakeTwilio({
    // Nothing here waits on a slow Twilio: a generous timeout keeps a loaded machine from failing it.
    TWILIO_TIMEOUT_MS: '2000',
    DISPATCHER_LEASE_SECONDS: '5',
    SCHEDULED_CALLS_MAX_PENDING: String(MAX_PENDING),
  }));
  a = await createTeam(t.database);
  b = await createTeam(t.database);
});
afterAll(async () => {
  await t.close();
  await fake.close();
});

const owner = (team: Team): Who => [team.owner, team.org, 'owner'];
const outgoingAgent = (who: Who, phoneId: string) =>
  create(t.app, '/api/agents', who, {
    name: 'Caller',
    direction: 'outgoing',
    phone_id: phoneId,
    media_stream_url: 'wss://agents.example.test/stream',
  });
const schedule = (who: Who, agentId: string) =>
  t.app.inject({
    method: 'POST',
    url: '/api/scheduled-calls',
    headers: as(...who),
    payload: {
      agent_id: agentId,
      to: '+14155550100',
      scheduled_at: new Date(Date.now() + 60_000).toISOString(),
    },
  });
const makeDue = (id: string) => makeScheduledCallDue(t.database, id);
const row = (id: string) => scheduledCallRow(t.database, id);
const placedFrom = (number: string) => fake.calls.filter((c) => c.from === number);

describe('scheduling refuses numbers that may not place calls', () => {
  it("another org's number, registered but unverified: 409 phone_not_verified, nothing queued", async () => {
    const number = uniqueNumber();
    await createVerifiedPhone(t.app, t.database, as(...owner(a)), { number });
    const squat = await create(t.app, '/api/phones', owner(b), { number });
    const agent = await outgoingAgent(owner(b), squat.id);
    const res = await schedule(owner(b), agent.id);
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('phone_not_verified');
    const queued = await withSystem(t.database, (tx) =>
      tx.selectFrom('scheduled_calls').select('id').where('agent_id', '=', agent.id).execute(),
    );
    expect(queued).toEqual([]);
  });

  it('an inactive number of the org itself: 409 phone_inactive', async () => {
    const phone = await createVerifiedPhone(t.app, t.database, as(...owner(a)), {
      number: uniqueNumber(),
      active: false,
    });
    const agent = await outgoingAgent(owner(a), phone.id);
    const res = await schedule(owner(a), agent.id);
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('phone_inactive');
  });

  it("an agent whose number was deleted: 400 on agent_id, saying so (not 'not verified yet')", async () => {
    const phone = await createVerifiedPhone(t.app, t.database, as(...owner(a)), {
      number: uniqueNumber(),
    });
    const agent = await outgoingAgent(owner(a), phone.id);
    const deleted = await t.app.inject({
      method: 'DELETE',
      url: `/api/phones/${phone.id}`,
      headers: as(...owner(a)),
    });
    expect(deleted.statusCode).toBe(204);
    const res = await schedule(owner(a), agent.id);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      code: 'validation_failed',
      errors: [{ field: 'agent_id', message: 'names an agent whose phone number was deleted' }],
    });
  });
});

describe('the dispatcher places calls only from active, verified numbers', () => {
  it('a call queued while the number was usable fails, unplaced, once it is not', async () => {
    for (const change of [
      { active: false },
      { verification_status: 'pending_verification', verification_method: null, verified_at: null },
    ] as const) {
      const phone = await createVerifiedPhone(t.app, t.database, as(...owner(a)), {
        number: uniqueNumber(),
      });
      const agent = await outgoingAgent(owner(a), phone.id);
      const s = (await schedule(owner(a), agent.id)).json();
      await makeDue(s.id);
      await withSystem(t.database, (tx) =>
        tx.updateTable('phones').set(change).where('id', '=', phone.id).execute(),
      );
      await t.app.dispatcher.runOnce();
      expect(placedFrom(phone.number)).toEqual([]);
      expect(await row(s.id)).toMatchObject({ status: 'failed' });
      expect((await row(s.id)).last_error).toMatch(/not verified|deactivated/);
    }
  });

  it("a queued call on a squatted number (written past the API) never goes out from the victim's number", async () => {
    const number = uniqueNumber();
    await createVerifiedPhone(t.app, t.database, as(...owner(a)), { number });
    const squat = await create(t.app, '/api/phones', owner(b), { number });
    const agent = await outgoingAgent(owner(b), squat.id);
    const id = newId();
    await withSystem(t.database, (tx) =>
      tx
        .insertInto('scheduled_calls')
        .values({
          id,
          org_id: b.org.id,
          owner_id: b.owner.id,
          agent_id: agent.id,
          to_number: '+14155550111',
          scheduled_at: new Date(Date.now() - 1000),
          next_attempt_at: new Date(Date.now() - 1000),
        })
        .execute(),
    );
    await t.app.dispatcher.runOnce();
    expect(placedFrom(number)).toEqual([]);
    expect((await row(id)).status).toBe('failed');
  });

  it('a verified, active number places its call', async () => {
    const phone = await createVerifiedPhone(t.app, t.database, as(...owner(b)), {
      number: uniqueNumber(),
    });
    const agent = await outgoingAgent(owner(b), phone.id);
    const s = (await schedule(owner(b), agent.id)).json();
    await makeDue(s.id);
    await t.app.dispatcher.runOnce();
    expect(placedFrom(phone.number)).toHaveLength(1);
    expect((await row(s.id)).status).toBe('dispatched');
  });
});

describe('SCHEDULED_CALLS_MAX_PENDING', () => {
  it('caps the calls waiting per org, over all its members, with a stable 409', async () => {
    const c = await createTeam(t.database);
    const member: Who = [c.member, c.org, 'member'];
    const mine = await createVerifiedPhone(t.app, t.database, as(...member), {
      number: uniqueNumber(),
    });
    const memberAgent = await outgoingAgent(member, mine.id);
    const ownerPhone = await createVerifiedPhone(t.app, t.database, as(...owner(c)), {
      number: uniqueNumber(),
    });
    const ownerAgent = await outgoingAgent(owner(c), ownerPhone.id);
    const results = await Promise.all([
      schedule(member, memberAgent.id),
      schedule(owner(c), ownerAgent.id),
      schedule(member, memberAgent.id),
      schedule(owner(c), ownerAgent.id),
      schedule(member, memberAgent.id),
    ]);
    const codes = results.map((r) => r.statusCode).sort();
    expect(codes).toEqual([201, 201, 201, 409, 409]);
    const refused = results.find((r) => r.statusCode === 409)!;
    expect(refused.json().code).toBe('scheduled_call_limit_reached');
    // The member sees only their own calls, yet the owner's count against the org's cap.
    const again = await schedule(member, memberAgent.id);
    expect(again.json().code).toBe('scheduled_call_limit_reached');
    // Another org is not affected.
    const other = await createVerifiedPhone(t.app, t.database, as(...owner(b)), {
      number: uniqueNumber(),
    });
    expect(
      (await schedule(owner(b), (await outgoingAgent(owner(b), other.id)).id)).statusCode,
    ).toBe(201);
    // Cancelling one frees a place.
    const created = results.find((r) => r.statusCode === 201)!.json();
    const who = created.owner_id === c.member.id ? member : owner(c);
    await t.app.inject({
      method: 'POST',
      url: `/api/scheduled-calls/${created.id}/cancel`,
      headers: as(...who),
    });
    expect((await schedule(member, memberAgent.id)).statusCode).toBe(201);
  });
});
