// A messaging agent's auto-reply is text the org sends to the public: creating, changing and
// deleting one is audited in the transaction of the change, with the fields changed but never
// the reply's text; a refused change records nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, buildTestApp, type TestApp } from '../../test/app.ts';
import { createTeam } from '../../test/factories.ts';
import { auditOf } from '../../test/org-helpers.ts';
import { create, uniqueNumber } from '../../test/twilio.ts';

let t: TestApp;
let a: Awaited<ReturnType<typeof createTeam>>;
let phoneId: string;
const owner = () => as(a.owner, a.org, 'owner');

beforeAll(async () => {
  t = await buildTestApp({ headerAuth: true });
  a = await createTeam(t.database);
  phoneId = (
    await create(t.app, '/api/phones', [a.owner, a.org, 'owner'], { number: uniqueNumber() })
  ).id;
});
afterAll(() => t.close());

describe('the audit log of messaging agents', () => {
  it('records one created, changed and deleted, without the auto-reply text', async () => {
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/message-agents',
      headers: owner(),
      payload: { name: 'SMS desk', phone_id: phoneId, auto_reply: 'secret-offer-code 4411' },
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id as string;
    const changed = await t.app.inject({
      method: 'PATCH',
      url: `/api/message-agents/${id}`,
      headers: owner(),
      payload: { auto_reply: 'Send money to this account', active: false },
    });
    expect(changed.statusCode, changed.body).toBe(200);
    const gone = await t.app.inject({
      method: 'DELETE',
      url: `/api/message-agents/${id}`,
      headers: owner(),
    });
    expect(gone.statusCode).toBe(204);

    const trail = (await auditOf(t.database, a.org.id)).filter((e) => e.target_id === id);
    expect(trail.map((e) => [e.action, e.target_type, e.metadata])).toEqual([
      [
        'message_agent.create',
        'message_agent',
        expect.objectContaining({ name: 'SMS desk', phone_id: phoneId, active: true }),
      ],
      [
        'message_agent.update',
        'message_agent',
        expect.objectContaining({ changed: 'active auto_reply', active: false }),
      ],
      ['message_agent.delete', 'message_agent', expect.objectContaining({ phone_id: phoneId })],
    ]);
    expect(trail.every((e) => e.actor_user_id === a.owner.id)).toBe(true);
    expect(JSON.stringify(trail)).not.toContain('secret-offer-code');
    expect(JSON.stringify(trail)).not.toContain('Send money');
  });

  it('a refused change records nothing: another member cannot change the owner’s agent', async () => {
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/message-agents',
      headers: owner(),
      payload: { name: 'Front desk', phone_id: phoneId, active: false },
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id as string;
    const refused = await t.app.inject({
      method: 'PATCH',
      url: `/api/message-agents/${id}`,
      headers: as(a.member, a.org, 'member'),
      payload: { auto_reply: 'hijacked' },
    });
    expect(refused.statusCode).toBeGreaterThanOrEqual(400);
    const trail = (await auditOf(t.database, a.org.id)).filter((e) => e.target_id === id);
    expect(trail.map((e) => e.action)).toEqual(['message_agent.create']);
  });
});
