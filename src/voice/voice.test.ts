// Voice resources over HTTP: CRUD, validation, the one-active rules, pagination and filters,
// scheduled-call rules, and the source documents' paths without /api.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withSystem } from '../db/tenant.ts';
import { newId } from '../http/ids.ts';
import { as, buildTestApp, type TestApp } from '../test/app.ts';
import { createTeam, createVerifiedPhone, registerPhone } from '../test/factories.ts';
import { create, uniqueNumber } from '../test/twilio.ts';

let t: TestApp;
let a: Awaited<ReturnType<typeof createTeam>>;
let b: Awaited<ReturnType<typeof createTeam>>;
const ownerA = () => as(a.owner, a.org, 'owner');
const future = (ms = 3_600_000) => new Date(Date.now() + ms).toISOString();
/** A request as org A's owner. */
const asOwnerA = (
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  url: string,
  payload?: object,
) => t.app.inject({ method, url, headers: ownerA(), ...(payload ? { payload } : {}) });

beforeAll(async () => {
  t = await buildTestApp({ headerAuth: true });
  a = await createTeam(t.database);
  b = await createTeam(t.database);
});
afterAll(() => t.close());

describe('phones', () => {
  it('create, get, list, update, delete (soft)', async () => {
    const number = uniqueNumber();
    const res = await asOwnerA('POST', '/api/phones', { number, label: 'Front desk' });
    expect(res.statusCode).toBe(201);
    const phone = res.json();
    expect(phone).toMatchObject({
      number,
      label: 'Front desk',
      active: true,
      org_id: a.org.id,
      owner_id: a.owner.id,
    });
    expect((await asOwnerA('GET', `/api/phones/${phone.id}`)).json()).toEqual(phone);
    const patched = await asOwnerA('PATCH', `/api/phones/${phone.id}`, {
      label: null,
      active: false,
    });
    expect(patched.json()).toMatchObject({ label: null, active: false });
    const del = await asOwnerA('DELETE', `/api/phones/${phone.id}`);
    expect(del.statusCode).toBe(204);
    expect((await asOwnerA('GET', `/api/phones/${phone.id}`)).statusCode).toBe(404);
    const row = await withSystem(t.database, (tx) =>
      tx.selectFrom('phones').selectAll().where('id', '=', phone.id).executeTakeFirstOrThrow(),
    );
    expect(row.deleted_at).not.toBeNull();
    const audit = await withSystem(t.database, (tx) =>
      tx
        .selectFrom('audit_logs')
        .select('action')
        .where('target_id', '=', phone.id)
        .orderBy('id')
        .execute(),
    );
    expect(audit.map((r) => r.action)).toEqual([
      'phone.create',
      'phone.deactivate',
      'phone.delete',
    ]);
  });

  it.each([
    ['not E.164', '4155550100'],
    ['letters', '+1415555CALL'],
    ['too long', '+1234567890123456'],
    ['leading zero', '+0415555010'],
  ])('rejects a number that is %s', async (_label, number) => {
    const res = await asOwnerA('POST', '/api/phones', { number });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('validation_failed');
  });

  it('the same number twice in one org is a 409; another org registering it gets no 409 (it stays pending there)', async () => {
    const number = uniqueNumber();
    await create(t.app, '/api/phones', [a.owner, a.org, 'owner'], { number });
    const again = await asOwnerA('POST', '/api/phones', { number });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('phone_number_exists');
    // A cross-org 409 would tell B which numbers A uses: B's registration succeeds, inert.
    const other = await registerPhone(t.app, as(b.owner, b.org, 'owner'), { number });
    expect(other.statusCode).toBe(201);
    expect(other.json()).toMatchObject({
      active: true,
      verification_status: 'pending_verification',
    });
    const deactivate = await t.app.inject({
      method: 'PATCH',
      url: `/api/phones/${other.json().id}`,
      headers: as(b.owner, b.org, 'owner'),
      payload: { active: false },
    });
    expect(deactivate.statusCode).toBe(200);
  });

  it('lists newest first with cursor pagination and filters', async () => {
    const c = await createTeam(t.database);
    const who = [c.owner, c.org, 'owner'] as const;
    const made: string[] = [];
    for (let i = 0; i < 5; i++) {
      made.push(
        (
          await create(t.app, '/api/phones', [...who], {
            number: uniqueNumber(),
            label: `line ${i}`,
            active: i % 2 === 0,
          })
        ).id,
      );
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/api/phones?limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = (await t.app.inject({ url, headers: as(...who) })).json();
      seen.push(...page.items.map((p: { id: string }) => p.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual([...made].reverse());
    const active = (
      await t.app.inject({ url: '/api/phones?active=true', headers: as(...who) })
    ).json();
    expect(active.items).toHaveLength(3);
    const q = (await t.app.inject({ url: '/api/phones?q=line%203', headers: as(...who) })).json();
    expect(q.items.map((p: { label: string }) => p.label)).toEqual(['line 3']);
    const bad = await t.app.inject({ url: '/api/phones?cursor=nope', headers: as(...who) });
    expect(bad.statusCode).toBe(400);
  });
});

describe('voice agents', () => {
  let phone: { id: string };
  beforeAll(async () => {
    phone = await create(t.app, '/api/phones', [a.owner, a.org, 'owner'], {
      number: uniqueNumber(),
    });
  });

  it('create with every field, get, update (PATCH and PUT), delete', async () => {
    const prompt = await create(t.app, '/api/prompts', [a.owner, a.org, 'owner'], {
      name: 'p',
      content: 'c',
    });
    const agent = await create<Record<string, unknown>>(
      t.app,
      '/api/agents',
      [a.owner, a.org, 'owner'],
      {
        name: 'Sales',
        direction: 'outgoing',
        phone_id: phone.id,
        prompt_id: prompt.id,
        instructions: 'Be brief.',
        greeting: 'Hello!',
        voice: 'Polly.Joanna-Neural',
        language: 'en-US',
        media_stream_url: 'wss://worker.example.test/media',
      },
    );
    expect(agent).toMatchObject({ direction: 'outgoing', prompt_id: prompt.id, active: true });
    for (const method of ['PATCH', 'PUT'] as const) {
      const res = await asOwnerA(method, `/api/agents/${agent.id}`, {
        greeting: `${method} hi`,
        prompt_id: null,
      });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({
        greeting: `${method} hi`,
        prompt_id: null,
        name: 'Sales',
      });
    }
    expect((await asOwnerA('DELETE', `/api/agents/${agent.id}`)).statusCode).toBe(204);
    expect((await asOwnerA('GET', `/api/agents/${agent.id}`)).statusCode).toBe(404);
  });

  it('one active incoming agent per phone (409), outgoing and inactive ones do not count', async () => {
    const p = await create(t.app, '/api/phones', [a.owner, a.org, 'owner'], {
      number: uniqueNumber(),
    });
    const first = await create(t.app, '/api/agents', [a.owner, a.org, 'owner'], {
      name: 'in',
      direction: 'incoming',
      phone_id: p.id,
    });
    const second = await asOwnerA('POST', '/api/agents', {
      name: 'in2',
      direction: 'incoming',
      phone_id: p.id,
    });
    expect(second.statusCode).toBe(409);
    expect(second.json().code).toBe('phone_has_active_agent');
    await create(t.app, '/api/agents', [a.owner, a.org, 'owner'], {
      name: 'out',
      direction: 'outgoing',
      phone_id: p.id,
    });
    const off = await create(t.app, '/api/agents', [a.owner, a.org, 'owner'], {
      name: 'off',
      direction: 'incoming',
      phone_id: p.id,
      active: false,
    });
    const activate = await asOwnerA('PATCH', `/api/agents/${off.id}`, { active: true });
    expect(activate.statusCode).toBe(409);
    await asOwnerA('DELETE', `/api/agents/${first.id}`);
    expect((await asOwnerA('PATCH', `/api/agents/${off.id}`, { active: true })).statusCode).toBe(
      200,
    );
  });

  it('answers on the source documents path /agents too', async () => {
    const res = await asOwnerA('POST', '/agents', {
      name: 'alias',
      direction: 'outgoing',
      phone_id: phone.id,
    });
    expect(res.statusCode).toBe(201);
    const id = res.json().id;
    expect((await asOwnerA('GET', `/agents/${id}`)).json().name).toBe('alias');
    expect(
      (await asOwnerA('GET', '/agents?direction=outgoing'))
        .json()
        .items.map((x: { id: string }) => x.id),
    ).toContain(id);
    expect((await asOwnerA('PUT', `/agents/${id}`, { name: 'renamed' })).json().name).toBe(
      'renamed',
    );
    expect((await asOwnerA('DELETE', `/agents/${id}`)).statusCode).toBe(204);
    expect((await t.app.inject({ url: '/agents' })).statusCode).toBe(401);
  });

  it.each([
    ['unknown direction', { direction: 'sideways' }],
    ['ws url not a websocket', { media_stream_url: 'https://worker.example.test' }],
    ['bad language', { language: 'english please' }],
    ['bad voice', { voice: 'Polly Joanna; rm -rf' }],
    ['unknown field', { owner_id: newId() }],
    ['missing phone', { phone_id: undefined }],
  ])('rejects %s with 400', async (_label, over) => {
    const res = await asOwnerA('POST', '/api/agents', {
      name: 'x',
      direction: 'incoming',
      phone_id: phone.id,
      active: false,
      ...over,
    });
    expect(res.statusCode).toBe(400);
  });

  it('a phone or prompt of another org is refused like an unknown one (400, same message)', async () => {
    const bPhone = await create(t.app, '/api/phones', [b.owner, b.org, 'owner'], {
      number: uniqueNumber(),
    });
    const bPrompt = await create(t.app, '/api/prompts', [b.owner, b.org, 'owner'], {
      name: 'b',
      content: 'b',
    });
    const tries = [
      { phone_id: bPhone.id },
      { phone_id: newId() },
      { phone_id: phone.id, prompt_id: bPrompt.id },
      { phone_id: phone.id, prompt_id: newId() },
    ];
    const bodies: string[] = [];
    for (const over of tries) {
      const res = await asOwnerA('POST', '/api/agents', {
        name: 'x',
        direction: 'outgoing',
        ...over,
      });
      expect(res.statusCode).toBe(400);
      const { request_id: _r, instance: _i, ...rest } = res.json();
      bodies.push(JSON.stringify(rest));
    }
    expect(bodies[0]).toBe(bodies[1]);
    expect(bodies[2]).toBe(bodies[3]);
  });
});

describe('messaging agents', () => {
  it('CRUD and one active per phone', async () => {
    const p = await create(t.app, '/api/phones', [a.owner, a.org, 'owner'], {
      number: uniqueNumber(),
    });
    const m = await create(t.app, '/api/message-agents', [a.owner, a.org, 'owner'], {
      name: 'bot',
      phone_id: p.id,
      auto_reply: 'Hi',
    });
    const dup = await asOwnerA('POST', '/api/message-agents', { name: 'bot2', phone_id: p.id });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().code).toBe('phone_has_active_message_agent');
    const put = await asOwnerA('PUT', `/api/message-agents/${m.id}`, {
      auto_reply: null,
      active: false,
    });
    expect(put.json()).toMatchObject({ auto_reply: null, active: false });
    expect(
      (await asOwnerA('POST', '/api/message-agents', { name: 'bot2', phone_id: p.id })).statusCode,
    ).toBe(201);
    const list = (
      await asOwnerA('GET', `/api/message-agents?phone_id=${p.id}&active=false`)
    ).json();
    expect(list.items.map((x: { id: string }) => x.id)).toEqual([m.id]);
    expect((await asOwnerA('DELETE', `/api/message-agents/${m.id}`)).statusCode).toBe(204);
    const long = await asOwnerA('POST', '/api/message-agents', {
      name: 'x',
      phone_id: p.id,
      auto_reply: 'x'.repeat(1601),
      active: false,
    });
    expect(long.statusCode).toBe(400);
  });
});

describe('scheduled calls', () => {
  let outgoing: { id: string };
  let silent: { id: string };
  let incoming: { id: string };
  beforeAll(async () => {
    const p = await createVerifiedPhone(t.app, t.database, ownerA(), {
      number: uniqueNumber(),
    });
    outgoing = await create(t.app, '/api/agents', [a.owner, a.org, 'owner'], {
      name: 'caller',
      direction: 'outgoing',
      phone_id: p.id,
      media_stream_url: 'wss://agents.example.test/stream',
    });
    silent = await create(t.app, '/api/agents', [a.owner, a.org, 'owner'], {
      name: 'no stream',
      direction: 'outgoing',
      phone_id: p.id,
    });
    incoming = await create(t.app, '/api/agents', [a.owner, a.org, 'owner'], {
      name: 'answerer',
      direction: 'incoming',
      phone_id: p.id,
    });
  });

  it('an agent without a media_stream_url cannot place calls: 400 on agent_id, on create and on change', async () => {
    const res = await asOwnerA('POST', '/api/scheduled-calls', {
      agent_id: silent.id,
      to: '+14155550123',
      scheduled_at: future(),
    });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().errors).toEqual([
      {
        field: 'agent_id',
        message: 'names an agent without a media_stream_url (give the agent one first)',
      },
    ]);
    // Queued through an agent that had one, then the agent lost it: a change says so too.
    const streaming = await create<{ id: string }>(
      t.app,
      '/api/agents',
      [a.owner, a.org, 'owner'],
      {
        name: 'streams for now',
        direction: 'outgoing',
        phone_id: (await asOwnerA('GET', `/api/agents/${silent.id}`)).json().phone_id,
        media_stream_url: 'wss://agents.example.test/stream',
      },
    );
    const call = await create<{ id: string }>(
      t.app,
      '/api/scheduled-calls',
      [a.owner, a.org, 'owner'],
      {
        agent_id: streaming.id,
        to: '+14155550124',
        scheduled_at: future(),
      },
    );
    expect(
      (await asOwnerA('PATCH', `/api/agents/${streaming.id}`, { media_stream_url: null }))
        .statusCode,
    ).toBe(200);
    const patched = await asOwnerA('PATCH', `/api/scheduled-calls/${call.id}`, {
      to: '+14155550125',
    });
    expect(patched.statusCode, patched.body).toBe(400);
    expect(patched.json().errors[0].field).toBe('agent_id');
  });

  it('create, get, list with filters, cancel; a cancelled call cannot be cancelled again', async () => {
    const at = future();
    const s = await create<Record<string, unknown>>(
      t.app,
      '/api/scheduled-calls',
      [a.owner, a.org, 'owner'],
      {
        agent_id: outgoing.id,
        to: '+14155550111',
        scheduled_at: at,
      },
    );
    expect(s).toMatchObject({
      status: 'pending',
      attempts: 0,
      call_sid: null,
      to: '+14155550111',
      scheduled_at: at,
    });
    const list = (
      await asOwnerA('GET', `/api/scheduled-calls?status=pending&agent_id=${outgoing.id}`)
    ).json();
    expect(list.items.map((x: { id: string }) => x.id)).toContain(s.id);
    const cancel = await asOwnerA('POST', `/api/scheduled-calls/${s.id}/cancel`);
    expect(cancel.statusCode).toBe(200);
    expect(cancel.json().status).toBe('cancelled');
    const again = await asOwnerA('POST', `/api/scheduled-calls/${s.id}/cancel`);
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('scheduled_call_not_pending');
    expect((await asOwnerA('DELETE', `/api/scheduled-calls/${s.id}`)).statusCode).toBe(204);
    expect((await asOwnerA('GET', `/api/scheduled-calls/${s.id}`)).statusCode).toBe(404);
  });

  it('DELETE of a pending call cancels it; of a call being placed is a 409', async () => {
    const s = await create(t.app, '/api/scheduled-calls', [a.owner, a.org, 'owner'], {
      agent_id: outgoing.id,
      to: '+14155550112',
      scheduled_at: future(),
    });
    expect((await asOwnerA('DELETE', `/api/scheduled-calls/${s.id}`)).statusCode).toBe(204);
    const row = await withSystem(t.database, (tx) =>
      tx.selectFrom('scheduled_calls').selectAll().where('id', '=', s.id).executeTakeFirstOrThrow(),
    );
    expect(row).toMatchObject({ status: 'cancelled' });
    expect(row.deleted_at).not.toBeNull();
    const busy = await create(t.app, '/api/scheduled-calls', [a.owner, a.org, 'owner'], {
      agent_id: outgoing.id,
      to: '+14155550113',
      scheduled_at: future(),
    });
    await withSystem(t.database, (tx) =>
      tx
        .updateTable('scheduled_calls')
        .set({ status: 'dispatching' })
        .where('id', '=', busy.id)
        .execute(),
    );
    const del = await asOwnerA('DELETE', `/api/scheduled-calls/${busy.id}`);
    expect(del.statusCode).toBe(409);
    const cancel = await asOwnerA('POST', `/api/scheduled-calls/${busy.id}/cancel`);
    expect(cancel.statusCode).toBe(409);
  });

  it.each([
    ['in the past', () => ({ scheduled_at: new Date(Date.now() - 60_000).toISOString() })],
    ['now-ish but past', () => ({ scheduled_at: new Date(Date.now() - 1).toISOString() })],
    ['more than a year ahead', () => ({ scheduled_at: future(400 * 86_400_000) })],
    ['not a date', () => ({ scheduled_at: 'tomorrow' })],
    ['a bad number', () => ({ to: '555-0100' })],
    ['an incoming agent', () => ({ agent_id: incoming.id })],
    ['an unknown agent', () => ({ agent_id: newId() })],
    ['a status (not writable)', () => ({ status: 'dispatched' })],
  ])('rejects a call %s with 400', async (_label, over) => {
    const res = await asOwnerA('POST', '/api/scheduled-calls', {
      agent_id: outgoing.id,
      to: '+14155550100',
      scheduled_at: future(),
      ...over(),
    });
    expect(res.statusCode).toBe(400);
  });
});

describe('read-only logs and analytics answer (empty org)', () => {
  it.each([
    '/api/calls',
    '/api/calls/active',
    '/api/messages',
    '/api/messages/conversations',
    '/api/analytics/calls-by-date',
    '/analytics/calls-by-date',
    '/api/analytics/calls-by-hour',
    '/analytics/calls-by-hour',
    '/api/analytics/agent-summary',
    '/analytics/agent-summary',
  ])('GET %s → 200 (and 401 without credentials)', async (url) => {
    const c = await createTeam(t.database);
    expect((await t.app.inject({ url, headers: as(c.member, c.org, 'member') })).statusCode).toBe(
      200,
    );
    expect((await t.app.inject({ url })).statusCode).toBe(401);
  });

  it('logs are read-only: no write verbs', async () => {
    for (const [method, url] of [
      ['POST', '/api/calls'],
      ['DELETE', `/api/calls/CA${'0'.repeat(32)}`],
      ['POST', '/api/messages'],
    ] as const) {
      const res = await asOwnerA(method, url, {});
      expect([404, 405]).toContain(res.statusCode);
    }
    expect((await asOwnerA('GET', '/api/calls/not-a-sid')).statusCode).toBe(400);
    expect((await asOwnerA('GET', `/api/calls/CA${'0'.repeat(32)}`)).statusCode).toBe(404);
  });
});
