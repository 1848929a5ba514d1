// Every voice resource × every role × another org: who may create, see, change and delete which
// rows (members: their own; managers and up: the whole org; nobody: another org's), and who reads
// which calls and messages. Refusals look exactly like missing rows (404) and change nothing.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../db/schema.ts';
import { withSystem } from '../db/tenant.ts';
import { appForFile, as } from '../test/app.ts';
import { createTeam } from '../test/factories.ts';
import {
  callingAgent,
  callParams,
  create,
  smsParams,
  twilioEnv,
  twilioPost,
  uniqueNumber,
} from '../test/twilio.ts';

const t = appForFile({ headerAuth: true, env: twilioEnv() });
let a: Awaited<ReturnType<typeof createTeam>>;
let b: Awaited<ReturnType<typeof createTeam>>;
type User = { id: string };
type Team = typeof a;
const ROLES: Role[] = ['owner', 'admin', 'manager', 'member'];

/** Each row owner's own phone and outgoing agent, to build rows that reference them. */
const kit = new Map<string, { phone: { id: string; number: string }; agent: { id: string } }>();

function roleOf(team: Team, user: User): Role {
  if (user.id === team.member2.id) return 'member';
  return (['owner', 'admin', 'manager', 'member'] as const).find((r) => team[r].id === user.id)!;
}

async function prepare(team: Team, user: User) {
  const w = [user, team.org, roleOf(team, user)] as [User, User, Role];
  kit.set(user.id, await callingAgent(t, w, { name: 'out' }));
}

interface Resource {
  name: string;
  path: string;
  table: 'phones' | 'agents' | 'message_agents' | 'scheduled_calls';
  body(owner: User): Record<string, unknown>;
  /** A harmless change (scheduled calls: cancel). */
  change(id: string): { method: 'PATCH' | 'POST'; url: string; payload?: object };
}

const RESOURCES: Resource[] = [
  {
    name: 'phones',
    path: '/api/phones',
    table: 'phones',
    body: () => ({ number: uniqueNumber(), active: false }),
    change: (id) => ({ method: 'PATCH', url: `/api/phones/${id}`, payload: { label: 'changed' } }),
  },
  {
    name: 'agents',
    path: '/api/agents',
    table: 'agents',
    body: (o) => ({ name: 'a', direction: 'outgoing', phone_id: kit.get(o.id)!.phone.id }),
    change: (id) => ({ method: 'PATCH', url: `/api/agents/${id}`, payload: { name: 'changed' } }),
  },
  {
    name: 'message agents',
    path: '/api/message-agents',
    table: 'message_agents',
    body: (o) => ({ name: 'm', phone_id: kit.get(o.id)!.phone.id, active: false }),
    change: (id) => ({
      method: 'PATCH',
      url: `/api/message-agents/${id}`,
      payload: { name: 'changed' },
    }),
  },
  {
    name: 'scheduled calls',
    path: '/api/scheduled-calls',
    table: 'scheduled_calls',
    body: (o) => ({
      agent_id: kit.get(o.id)!.agent.id,
      to: '+14155550100',
      scheduled_at: new Date(Date.now() + 86_400_000).toISOString(),
    }),
    change: (id) => ({ method: 'POST', url: `/api/scheduled-calls/${id}/cancel` }),
  },
];

beforeAll(async () => {
  a = await createTeam(t.database);
  b = await createTeam(t.database);
  for (const u of [a.owner, a.member, a.member2]) await prepare(a, u);
  await prepare(b, b.owner);
});

async function snapshot(table: Resource['table'], id: string) {
  return withSystem(t.database, (tx) =>
    tx.selectFrom(table).selectAll().where('id', '=', id).executeTakeFirstOrThrow(),
  );
}

describe.each(RESOURCES)('$name: role × owner × org', (r) => {
  // Rows of: the org owner, the acting member, another member, and another org's owner.
  const owners = () =>
    [
      ['owner of org A', a, a.owner],
      ['member', a, a.member],
      ['another member', a, a.member2],
      ['owner of org B', b, b.owner],
    ] as const;

  it.each(ROLES)('%s: creates; sees, changes and deletes exactly the rows it may', async (role) => {
    const actor = a[role];
    const headers = as(actor, a.org, role);
    if (!kit.has(actor.id)) await prepare(a, actor);
    const mine = await t.app.inject({
      method: 'POST',
      url: r.path,
      headers,
      payload: r.body(actor),
    });
    expect(mine.statusCode, `${role} creates`).toBe(201);
    expect(mine.json().owner_id).toBe(actor.id);

    for (const [label, team, owner] of owners()) {
      const allowed = team === a && (role !== 'member' || owner.id === actor.id);
      const expected = allowed ? 'allowed' : 'refused';
      const row = await create(
        t.app,
        r.path,
        [owner, team.org, roleOf(team, owner)],
        r.body(owner),
      );
      const get = await t.app.inject({ url: `${r.path}/${row.id}`, headers });
      expect(get.statusCode, `${role} GET ${label}'s row: ${expected}`).toBe(allowed ? 200 : 404);
      const list = await t.app.inject({ url: `${r.path}?limit=100`, headers });
      expect(
        list.json().items.some((x: { id: string }) => x.id === row.id),
        `${role} lists ${label}'s row: ${expected}`,
      ).toBe(allowed);

      const before = await snapshot(r.table, row.id);
      const ch = r.change(row.id);
      const change = await t.app.inject({ ...ch, headers });
      expect(change.statusCode, `${role} changes ${label}'s row: ${expected}`).toBe(
        allowed ? 200 : 404,
      );
      if (!allowed) expect(await snapshot(r.table, row.id)).toEqual(before);

      const fresh = await create(
        t.app,
        r.path,
        [owner, team.org, roleOf(team, owner)],
        r.body(owner),
      );
      const del = await t.app.inject({ method: 'DELETE', url: `${r.path}/${fresh.id}`, headers });
      expect(del.statusCode, `${role} deletes ${label}'s row: ${expected}`).toBe(
        allowed ? 204 : 404,
      );
      expect((await snapshot(r.table, fresh.id)).deleted_at === null).toBe(!allowed);
    }
  });

  it('without credentials: 401 on every verb', async () => {
    const row = await create(t.app, r.path, [a.owner, a.org, 'owner'], r.body(a.owner));
    for (const req of [
      { method: 'GET' as const, url: r.path },
      { method: 'POST' as const, url: r.path, payload: r.body(a.owner) },
      { method: 'GET' as const, url: `${r.path}/${row.id}` },
      r.change(row.id),
      { method: 'DELETE' as const, url: `${r.path}/${row.id}` },
    ]) {
      expect((await t.app.inject(req)).statusCode, `${req.method} ${req.url}`).toBe(401);
    }
  });

  it('mass assignment: org_id, owner_id, id and deleted_at are rejected', async () => {
    for (const field of ['org_id', 'owner_id', 'id', 'deleted_at']) {
      const res = await t.app.inject({
        method: 'POST',
        url: r.path,
        headers: as(a.owner, a.org, 'owner'),
        payload: { ...r.body(a.owner), [field]: field === 'deleted_at' ? null : b.org.id },
      });
      expect(res.statusCode, field).toBe(400);
    }
  });
});

describe('references to rows the caller cannot see', () => {
  it("a member cannot attach an agent to another member's phone or call with another member's agent", async () => {
    const other = kit.get(a.member2.id)!;
    const headers = as(a.member, a.org, 'member');
    const agent = await t.app.inject({
      method: 'POST',
      url: '/api/agents',
      headers,
      payload: { name: 'x', direction: 'outgoing', phone_id: other.phone.id },
    });
    expect(agent.statusCode).toBe(400);
    const call = await t.app.inject({
      method: 'POST',
      url: '/api/scheduled-calls',
      headers,
      payload: {
        agent_id: other.agent.id,
        to: '+14155550100',
        scheduled_at: new Date(Date.now() + 86_400_000).toISOString(),
      },
    });
    expect(call.statusCode).toBe(400);
  });

  it("a manager may attach an agent to a member's phone; an owner never to another org's", async () => {
    const memberPhone = kit.get(a.member.id)!.phone.id;
    const ok = await t.app.inject({
      method: 'POST',
      url: '/api/agents',
      headers: as(a.manager, a.org, 'manager'),
      payload: { name: 'mgr', direction: 'outgoing', phone_id: memberPhone },
    });
    expect(ok.statusCode).toBe(201);
    const moved = await t.app.inject({
      method: 'PATCH',
      url: `/api/agents/${ok.json().id}`,
      headers: as(a.owner, a.org, 'owner'),
      payload: { phone_id: kit.get(b.owner.id)!.phone.id },
    });
    expect(moved.statusCode).toBe(400);
  });
});

describe('calls and messages belong to the org owning the number; members read their own', () => {
  const sids: Record<string, string> = {};
  const smsSids: Record<string, string> = {};

  beforeAll(async () => {
    for (const [key, user] of [
      ['owner', a.owner],
      ['member', a.member],
      ['member2', a.member2],
      ['orgB', b.owner],
    ] as const) {
      const { phone } = kit.get(user.id)!;
      const call = callParams({ To: phone.number });
      expect((await twilioPost(t.app, '/webhooks/twilio/voice', call)).statusCode).toBe(200);
      sids[key] = call.CallSid as string;
      const sms = smsParams({ To: phone.number });
      expect((await twilioPost(t.app, '/webhooks/twilio/sms', sms)).statusCode).toBe(200);
      smsSids[key] = sms.MessageSid as string;
    }
  });

  it.each(ROLES)('%s', async (role) => {
    const headers = as(a[role], a.org, role);
    const visible = role === 'member' ? ['member'] : ['owner', 'member', 'member2'];
    const calls = (await t.app.inject({ url: '/api/calls?limit=100', headers })).json();
    const listed = new Set(calls.items.map((c: { call_sid: string }) => c.call_sid));
    const messages = (await t.app.inject({ url: '/api/messages?limit=100', headers })).json();
    const listedSms = new Set(messages.items.map((m: { message_sid: string }) => m.message_sid));
    for (const key of ['owner', 'member', 'member2', 'orgB']) {
      const may = visible.includes(key);
      expect(listed.has(sids[key]), `${role} lists ${key}'s call`).toBe(may);
      expect(listedSms.has(smsSids[key]), `${role} lists ${key}'s message`).toBe(may);
      const one = await t.app.inject({ url: `/api/calls/${sids[key]}`, headers });
      expect(one.statusCode, `${role} GET ${key}'s call`).toBe(may ? 200 : 404);
    }
    const conv = (
      await t.app.inject({ url: '/api/messages/conversations?limit=100', headers })
    ).json();
    const convPhones = new Set(conv.items.map((c: { phone_id: string }) => c.phone_id));
    expect(convPhones.has(kit.get(b.owner.id)!.phone.id)).toBe(false);
    if (role === 'member') expect([...convPhones]).toEqual([kit.get(a.member.id)!.phone.id]);
    const summary = (await t.app.inject({ url: '/api/analytics/calls-by-hour', headers })).json();
    const total = summary.hours.reduce((n: number, h: { calls: number }) => n + h.calls, 0);
    expect(total, `${role} counts calls`).toBe(calls.items.length);
  });
});
