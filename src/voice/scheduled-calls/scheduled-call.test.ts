// Scheduled calls over HTTP, the rules of their history: every cancel by a person is audited in the
// transaction that cancels (a member's own call, a manager's cancel of someone else's, DELETE of a
// pending call), and last_error goes when it no longer explains the call (a new time, a cancel by a
// person) but stays while it does (a retry's wait that an edit of the number leaves in place).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

const cancelsOf = async (id: string) =>
  (await auditOf(t.database, a.org.id)).filter(
    (e) => e.action === 'scheduled_call.cancel' && e.target_id === id,
  );

describe('cancelling is audited', () => {
  it('a member cancelling their own call: one entry, in the org, naming them and the call', async () => {
    const s = await memberCall();
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/scheduled-calls/${s.id}/cancel`,
      headers: { ...member(), 'user-agent': 'scheduler-test' },
    });
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
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/scheduled-calls/${s.id}/cancel`,
      headers: manager(),
    });
    expect(res.statusCode).toBe(200);
    const entries = await cancelsOf(s.id);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      actor_user_id: a.manager.id,
      actor_type: 'user',
      metadata: { reason: 'user', owner_id: a.member.id },
    });
  });

  it('DELETE of a pending call is a cancel and audited as one; hiding a finished call is not', async () => {
    const s = await memberCall();
    const del = await t.app.inject({
      method: 'DELETE',
      url: `/api/scheduled-calls/${s.id}`,
      headers: member(),
    });
    expect(del.statusCode).toBe(204);
    const entries = await cancelsOf(s.id);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      actor_user_id: a.member.id,
      metadata: { reason: 'user', number: s.to, owner_id: a.member.id, deleted: true },
    });

    const done = await memberCall();
    await t.app.inject({
      method: 'POST',
      url: `/api/scheduled-calls/${done.id}/cancel`,
      headers: member(),
    });
    const hide = await t.app.inject({
      method: 'DELETE',
      url: `/api/scheduled-calls/${done.id}`,
      headers: member(),
    });
    expect(hide.statusCode).toBe(204);
    expect(await cancelsOf(done.id)).toHaveLength(1); // the cancel's own, nothing for the hiding
  });

  it('a refused cancel (not pending any more, or not theirs) records nothing', async () => {
    const s = await memberCall();
    const first = await t.app.inject({
      method: 'POST',
      url: `/api/scheduled-calls/${s.id}/cancel`,
      headers: member(),
    });
    expect(first.statusCode).toBe(200);
    const again = await t.app.inject({
      method: 'POST',
      url: `/api/scheduled-calls/${s.id}/cancel`,
      headers: member(),
    });
    expect(again.statusCode).toBe(409);
    expect(await cancelsOf(s.id)).toHaveLength(1);

    const theirs = await memberCall();
    const other = await t.app.inject({
      method: 'POST',
      url: `/api/scheduled-calls/${theirs.id}/cancel`,
      headers: as(a.member2, a.org, 'member'),
    });
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
    const res = await t.app.inject({
      method: 'PATCH',
      url: `/api/scheduled-calls/${s.id}`,
      headers: member(),
      payload: { scheduled_at: at },
    });
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
    const res = await t.app.inject({
      method: 'PATCH',
      url: `/api/scheduled-calls/${s.id}`,
      headers: member(),
      payload: { to: uniqueNumber(), recipient_time_zone: 'Europe/Berlin' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'pending', last_error: RETRY_ERROR });
    expect(await scheduledCallRow(t.database, s.id)).toMatchObject({
      last_error: RETRY_ERROR,
      next_attempt_at: retryAt,
    });
  });

  it('a cancel by a person clears it: the call is cancelled by them, not by the error', async () => {
    const s = await memberCall();
    await failedOnce(s.id);
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/scheduled-calls/${s.id}/cancel`,
      headers: member(),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'cancelled', last_error: null });
  });
});
