// Scheduled calls over HTTP, the rules of their history: every cancel by a person is audited in the
// transaction that cancels (a member's own call, a manager's cancel of someone else's, DELETE of a
// pending call), and last_error goes when it no longer explains the call (a new time, a cancel by a
// person) but stays while it does (a retry's wait that an edit of the number leaves in place); a
// new time also gives back the attempts spent, so the rescheduled call has every try a new one has.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../access/principal.ts';
import type { Role } from '../../db/schema.ts';
import { withSystem } from '../../db/tenant.ts';
import { claimDueCalls, markRetry } from '../../telephony/dispatch.repository.ts';
import { withOrgService } from '../../telephony/org-service.ts';
import { as, buildTestApp, type TestApp } from '../../test/app.ts';
import { createTeam } from '../../test/factories.ts';
import { auditOf } from '../../test/org-helpers.ts';
import {
  callingAgent,
  create,
  makeScheduledCallDue,
  scheduledCallRow,
  uniqueNumber,
} from '../../test/twilio.ts';
import { createScheduledCallService } from './scheduled-call.service.ts';

let t: TestApp;
let a: Awaited<ReturnType<typeof createTeam>>;
let memberAgent: { id: string };

const member = () => as(a.member, a.org, 'member');
const manager = () => as(a.manager, a.org, 'manager');
const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();
const RETRY_ERROR = 'Twilio 503 (20503): Service Unavailable';

beforeAll(async () => {
  t = await buildTestApp({ headerAuth: true });
  a = await createTeam(t.database);
  ({ agent: memberAgent } = await callingAgent(t, [a.member, a.org, 'member']));
});
afterAll(() => t.close());

const cancelCall = (id: string, headers: Record<string, string> = member()) =>
  t.app.inject({ method: 'POST', url: `/api/scheduled-calls/${id}/cancel`, headers });
const deleteCall = (id: string, headers: Record<string, string> = member()) =>
  t.app.inject({ method: 'DELETE', url: `/api/scheduled-calls/${id}`, headers });
const patchCall = (id: string, payload: object, headers: Record<string, string> = member()) =>
  t.app.inject({ method: 'PATCH', url: `/api/scheduled-calls/${id}`, headers, payload });
const entriesOf = async (action: string, id: string) =>
  (await auditOf(t.database, a.org.id)).filter((e) => e.action === action && e.target_id === id);
const cancelsOf = (id: string) => entriesOf('scheduled_call.cancel', id);

/** A call the member schedules for an hour from now. */
function memberCall(): Promise<{ id: string; to: string }> {
  const who: [{ id: string }, { id: string }, Role] = [a.member, a.org, 'member'];
  return create(t.app, '/api/scheduled-calls', who, {
    agent_id: memberAgent.id,
    to: uniqueNumber(),
    scheduled_at: inAnHour(),
  });
}

/**
 * The dispatcher's first attempt failed with a retryable error: the call is pending again, its
 * next attempt ten minutes on, last_error saying why (dispatch.repository.ts markRetry).
 */
async function failedOnce(id: string): Promise<Date> {
  await makeScheduledCallDue(t.database, id);
  const claimed = await withSystem(t.database, (tx) => claimDueCalls(tx, 100, 30));
  const c = claimed.find((x) => x.id === id);
  if (!c) throw new Error('the call was not claimed');
  const retryAt = new Date(Date.now() + 600_000);
  const ok = await withOrgService(t.database, c.org_id, (tx) =>
    markRetry(tx, c.org_id, c.id, c.dispatch_key, RETRY_ERROR, retryAt),
  );
  if (!ok) throw new Error('the retry was not recorded');
  expect(await scheduledCallRow(t.database, id)).toMatchObject({
    status: 'pending',
    attempts: 1,
    last_error: RETRY_ERROR,
  });
  return retryAt;
}

describe('cancelling is audited', () => {
  it('a member cancelling their own call: one entry, in the org, naming them and the call', async () => {
    const s = await memberCall();
    const res = await cancelCall(s.id, { ...member(), 'user-agent': 'scheduler-test' });
    expect(res.statusCode).toBe(200);
    const entries = await cancelsOf(s.id);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      org_id: a.org.id,
      actor_user_id: a.member.id,
      actor_type: 'user',
      target_type: 'scheduled_call',
      target_id: s.id,
      outcome: 'success',
      user_agent: 'scheduler-test',
      metadata: { reason: 'user', number: s.to, owner_id: a.member.id },
    });
    expect(entries[0]!.request_id).toBeTruthy();
  });

  it("a manager cancelling a member's call: the manager is the actor, the member the owner", async () => {
    const s = await memberCall();
    const res = await cancelCall(s.id, manager());
    expect(res.statusCode).toBe(200);
    const entries = await cancelsOf(s.id);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      actor_user_id: a.manager.id,
      actor_type: 'user',
      metadata: { reason: 'user', owner_id: a.member.id },
    });
  });

  it('DELETE of a pending call is a cancel and audited as one; hiding a finished call is no cancel', async () => {
    const s = await memberCall();
    const del = await deleteCall(s.id);
    expect(del.statusCode).toBe(204);
    const entries = await cancelsOf(s.id);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      actor_user_id: a.member.id,
      metadata: { reason: 'user', number: s.to, owner_id: a.member.id, deleted: true },
    });

    const done = await memberCall();
    await cancelCall(done.id);
    const hide = await deleteCall(done.id);
    expect(hide.statusCode).toBe(204);
    // The cancel's own; the hiding is no cancel (it is scheduled_call.delete, tested below).
    expect(await cancelsOf(done.id)).toHaveLength(1);
  });

  it('a refused cancel (not pending any more, or not theirs) records nothing', async () => {
    const s = await memberCall();
    const first = await cancelCall(s.id);
    expect(first.statusCode).toBe(200);
    const again = await cancelCall(s.id);
    expect(again.statusCode).toBe(409);
    expect(await cancelsOf(s.id)).toHaveLength(1);

    const theirs = await memberCall();
    const other = await cancelCall(theirs.id, as(a.member2, a.org, 'member'));
    expect(other.statusCode).toBe(404);
    expect(await cancelsOf(theirs.id)).toHaveLength(0);
    expect((await scheduledCallRow(t.database, theirs.id)).status).toBe('pending');
  });
});

describe('last_error', () => {
  it('a new time clears the error of a failed attempt: the wait it explained is gone', async () => {
    const s = await memberCall();
    await failedOnce(s.id);
    const at = new Date(Date.now() + 7_200_000).toISOString();
    const res = await patchCall(s.id, { scheduled_at: at });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'pending', scheduled_at: at, last_error: null });
    expect(await scheduledCallRow(t.database, s.id)).toMatchObject({
      last_error: null,
      next_attempt_at: new Date(at),
    });
  });

  it("a new number or zone alone keeps it: the call still waits for the retry's backoff", async () => {
    const s = await memberCall();
    const retryAt = await failedOnce(s.id);
    const res = await patchCall(s.id, { to: uniqueNumber(), recipient_time_zone: 'Europe/Berlin' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'pending', attempts: 1, last_error: RETRY_ERROR });
    expect(await scheduledCallRow(t.database, s.id)).toMatchObject({
      attempts: 1,
      last_error: RETRY_ERROR,
      next_attempt_at: retryAt,
    });
  });

  it('a cancel by a person clears it: the call is cancelled by them, not by the error', async () => {
    const s = await memberCall();
    await failedOnce(s.id);
    const res = await cancelCall(s.id);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'cancelled', last_error: null });
  });
});

describe('attempts', () => {
  it('a new time gives back the spent attempts; the failed attempt keeps its key, the next claim mints one', async () => {
    const s = await memberCall();
    await failedOnce(s.id);
    const failedKey = (await scheduledCallRow(t.database, s.id)).dispatch_key;
    expect(failedKey).not.toBeNull();
    const res = await patchCall(s.id, {
      scheduled_at: new Date(Date.now() + 7_200_000).toISOString(),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'pending', attempts: 0 });
    // The earlier attempt's key is left as it was (after an expired lease its call may yet call
    // back, and must still settle the row: dispatcher.test.ts); no claim hands it out again.
    expect(await scheduledCallRow(t.database, s.id)).toMatchObject({
      attempts: 0,
      dispatch_key: failedKey,
    });
    await makeScheduledCallDue(t.database, s.id);
    const claimed = await withSystem(t.database, (tx) => claimDueCalls(tx, 100, 30));
    const c = claimed.find((x) => x.id === s.id);
    expect(c).toMatchObject({ attempts: 1 });
    expect(c?.dispatch_key).not.toBe(failedKey);
  });
});

const actionsOf = async (action: string) =>
  (await auditOf(t.database, a.org.id)).filter((e) => e.action === action);

describe('scheduling and changing a call are audited', () => {
  it('a create: one entry, in the org, naming the person, the call, its number, agent and time', async () => {
    const to = uniqueNumber();
    const at = inAnHour();
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/scheduled-calls',
      headers: { ...member(), 'user-agent': 'scheduler-test' },
      payload: { agent_id: memberAgent.id, to, scheduled_at: at },
    });
    expect(res.statusCode, res.body).toBe(201);
    const id = res.json().id as string;
    const entries = await entriesOf('scheduled_call.create', id);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      org_id: a.org.id,
      actor_user_id: a.member.id,
      actor_type: 'user',
      target_type: 'scheduled_call',
      target_id: id,
      outcome: 'success',
      user_agent: 'scheduler-test',
      metadata: {
        number: to,
        agent_id: memberAgent.id,
        scheduled_at: new Date(at).toISOString(),
        recipient_time_zone: null,
      },
    });
    expect(entries[0]!.request_id).toBeTruthy();
  });

  it('a create by an API key names the key beside its creator', async () => {
    const keyId = randomUUID();
    const key: Principal = {
      userId: a.member.id,
      orgId: a.org.id,
      role: 'member',
      superuser: false,
      via: 'api_key',
      scopes: ['scheduled_calls:write'],
      apiKeyId: keyId,
    };
    const service = createScheduledCallService(t.database, t.config);
    const meta = { ip: '203.0.113.9', userAgent: 'worker', requestId: 'req-key-create' };
    const to = uniqueNumber();
    const row = await service.create(
      key,
      { agent_id: memberAgent.id, to, scheduled_at: inAnHour(), recipient_time_zone: 'Asia/Tokyo' },
      meta,
    );
    const entries = await entriesOf('scheduled_call.create', row.id);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      actor_user_id: a.member.id,
      actor_type: 'api_key',
      ip: '203.0.113.9',
      request_id: 'req-key-create',
      metadata: { number: to, recipient_time_zone: 'Asia/Tokyo', api_key_id: keyId },
    });
  });

  /** A new number on the org's do-not-call list (added by a manager). */
  async function listedNumber() {
    const listed = uniqueNumber();
    const add = await t.app.inject({
      method: 'POST',
      url: '/api/orgs/current/do-not-call',
      headers: manager(),
      payload: { number: listed },
    });
    expect(add.statusCode, add.body).toBe(201);
    return listed;
  }

  it('a refused create (listed number, past time, no such agent) records nothing', async () => {
    const before = (await actionsOf('scheduled_call.create')).length;
    const listed = await listedNumber();
    const attempts = [
      { agent_id: memberAgent.id, to: listed, scheduled_at: inAnHour() },
      { agent_id: memberAgent.id, to: uniqueNumber(), scheduled_at: '2020-01-01T00:00:00Z' },
      { agent_id: randomUUID(), to: uniqueNumber(), scheduled_at: inAnHour() },
    ];
    const codes = [];
    for (const payload of attempts) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/scheduled-calls',
        headers: member(),
        payload,
      });
      codes.push(res.statusCode);
    }
    expect(codes.every((c) => c >= 400)).toBe(true);
    expect(await actionsOf('scheduled_call.create')).toHaveLength(before);
    // A create that goes through is recorded: the count above is not zero by accident.
    const s = await memberCall();
    expect(await actionsOf('scheduled_call.create')).toHaveLength(before + 1);
    expect(await entriesOf('scheduled_call.create', s.id)).toHaveLength(1);
  });

  it("a manager redirecting a member's call: old and new number and time, the fields sent, the owner", async () => {
    const s = await memberCall();
    const old = await scheduledCallRow(t.database, s.id);
    const to = uniqueNumber();
    const at = new Date(Date.now() + 7_200_000).toISOString();
    const res = await patchCall(s.id, { to, scheduled_at: at }, manager());
    expect(res.statusCode, res.body).toBe(200);
    const entries = await entriesOf('scheduled_call.update', s.id);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      org_id: a.org.id,
      actor_user_id: a.manager.id,
      actor_type: 'user',
      target_type: 'scheduled_call',
      target_id: s.id,
      outcome: 'success',
      metadata: {
        changed: 'scheduled_at to',
        owner_id: a.member.id,
        old_number: s.to,
        number: to,
        old_scheduled_at: old.scheduled_at.toISOString(),
        scheduled_at: at,
      },
    });
    expect(entries[0]!.metadata).not.toHaveProperty('recipient_time_zone');
  });

  it('a change of zone alone: the zone, old and new, and the number the call still goes to', async () => {
    const s = await memberCall();
    const res = await patchCall(s.id, { recipient_time_zone: 'Europe/Berlin' });
    expect(res.statusCode, res.body).toBe(200);
    const entries = await entriesOf('scheduled_call.update', s.id);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      actor_user_id: a.member.id,
      metadata: {
        changed: 'recipient_time_zone',
        number: s.to,
        old_recipient_time_zone: null,
        recipient_time_zone: 'Europe/Berlin',
      },
    });
    expect(entries[0]!.metadata).not.toHaveProperty('old_number');
    expect(entries[0]!.metadata).not.toHaveProperty('scheduled_at');
  });

  it('a refused change (listed number, past time, not pending, not theirs) records nothing', async () => {
    const s = await memberCall();
    const listed = await listedNumber();
    expect((await patchCall(s.id, { to: listed })).statusCode).toBe(409);
    expect((await patchCall(s.id, { scheduled_at: '2020-01-01T00:00:00Z' })).statusCode).toBe(400);
    expect(
      (await patchCall(s.id, { to: uniqueNumber() }, as(a.member2, a.org, 'member'))).statusCode,
    ).toBe(404);
    expect(await entriesOf('scheduled_call.update', s.id)).toHaveLength(0);
    expect((await scheduledCallRow(t.database, s.id)).to_number).toBe(s.to);

    // A change that goes through is recorded; once cancelled, the call cannot be changed.
    expect((await patchCall(s.id, { recipient_time_zone: 'Asia/Tokyo' })).statusCode).toBe(200);
    expect(await entriesOf('scheduled_call.update', s.id)).toHaveLength(1);
    const cancel = await cancelCall(s.id);
    expect(cancel.statusCode).toBe(200);
    expect((await patchCall(s.id, { to: uniqueNumber() })).statusCode).toBe(409);
    expect(await entriesOf('scheduled_call.update', s.id)).toHaveLength(1);
  });
});

describe('hiding a finished call is audited', () => {
  it('DELETE of a finished call: scheduled_call.delete with its number, status and owner', async () => {
    const s = await memberCall();
    const cancel = await cancelCall(s.id);
    expect(cancel.statusCode).toBe(200);
    const hide = await deleteCall(s.id, manager());
    expect(hide.statusCode).toBe(204);
    const entries = await entriesOf('scheduled_call.delete', s.id);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      org_id: a.org.id,
      actor_user_id: a.manager.id,
      actor_type: 'user',
      target_type: 'scheduled_call',
      target_id: s.id,
      metadata: { number: s.to, status: 'cancelled', owner_id: a.member.id, call_sid: null },
    });
    // Already hidden: a 404, and nothing more recorded.
    const again = await deleteCall(s.id, manager());
    expect(again.statusCode).toBe(404);
    expect(await entriesOf('scheduled_call.delete', s.id)).toHaveLength(1);
  });

  it('DELETE of a pending call is one cancel entry, not a delete as well', async () => {
    const s = await memberCall();
    const del = await deleteCall(s.id);
    expect(del.statusCode).toBe(204);
    expect(await cancelsOf(s.id)).toHaveLength(1);
    expect(await entriesOf('scheduled_call.delete', s.id)).toHaveLength(0);
    // The same DELETE of a finished call is recorded: the zero above is not by accident.
    const done = await memberCall();
    await cancelCall(done.id);
    await deleteCall(done.id);
    expect(await entriesOf('scheduled_call.delete', done.id)).toHaveLength(1);
  });
});

describe('a change re-checks that the call can still go', () => {
  /** A call of its own agent and number, so that changing them touches no other test's. */
  async function ownCall() {
    const who: [{ id: string }, { id: string }, Role] = [a.member, a.org, 'member'];
    const { phone, agent } = await callingAgent(t, who);
    const call = await create(t.app, '/api/scheduled-calls', who, {
      agent_id: agent.id,
      to: uniqueNumber(),
      scheduled_at: inAnHour(),
    });
    return { phone, agent, call };
  }
  const send = (method: 'PATCH' | 'DELETE', url: string, payload?: object) =>
    t.app.inject({ method, url, headers: member(), ...(payload ? { payload } : {}) });

  it('its agent deleted, deactivated, or its number deleted or deactivated: the change is refused and nothing changes', async () => {
    const cases: [
      string,
      (o: Awaited<ReturnType<typeof ownCall>>) => Promise<unknown>,
      number,
      string,
    ][] = [
      [
        'agent deleted',
        (o) => send('DELETE', `/api/agents/${o.agent.id}`),
        400,
        'validation_failed',
      ],
      [
        'agent deactivated',
        (o) => send('PATCH', `/api/agents/${o.agent.id}`, { active: false }),
        400,
        'validation_failed',
      ],
      [
        'number deleted',
        (o) => send('DELETE', `/api/phones/${o.phone.id}`),
        400,
        'validation_failed',
      ],
      [
        'number deactivated',
        (o) => send('PATCH', `/api/phones/${o.phone.id}`, { active: false }),
        409,
        'phone_inactive',
      ],
    ];
    for (const [label, change, status, code] of cases) {
      const o = await ownCall();
      await change(o);
      const before = await scheduledCallRow(t.database, o.call.id);
      const res = await patchCall(o.call.id, { to: uniqueNumber() });
      expect(res.statusCode, `${label}: ${res.body}`).toBe(status);
      expect(res.json().code, label).toBe(code);
      expect(await scheduledCallRow(t.database, o.call.id), label).toEqual(before);
      expect(await entriesOf('scheduled_call.update', o.call.id), label).toEqual([]);
      // It can still be cancelled: what the person does with a call that cannot go.
      expect((await cancelCall(o.call.id)).statusCode, label).toBe(200);
    }
  });

  it("someone demoted since scheduling through another member's agent may still change their call", async () => {
    // The manager schedules through the member's agent (managers see the org's agents) and is
    // then a member: that agent is out of their sight, not gone; the dispatcher still places it.
    const call = await create(t.app, '/api/scheduled-calls', [a.manager, a.org, 'manager'], {
      agent_id: memberAgent.id,
      to: uniqueNumber(),
      scheduled_at: inAnHour(),
    });
    const res = await patchCall(
      call.id,
      { scheduled_at: inAnHour() },
      as(a.manager, a.org, 'member'),
    );
    expect(res.statusCode, res.body).toBe(200);
  });
});
