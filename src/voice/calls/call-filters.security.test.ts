// GET /api/calls filters × role × org. Threat: a filter the route drops answers the whole list
// (every call the caller sees) where the caller asked for one phone's or one agent's calls — a
// dashboard or an integration then shows or bills another phone's calls as this one's
// (`?phone_id=` and `?agent_id=` were dropped that way: the route spread the snake_case query
// into a filter read as phoneId/agentId). An id of another org, or of nothing, filters to an
// empty list, never to everything and never to another org's calls.
import { beforeAll, describe, expect, it } from 'vitest';
import type { CallStatus, Role } from '../../db/schema.ts';
import { withSystem } from '../../db/tenant.ts';
import { newId } from '../../http/ids.ts';
import { appForFile, as } from '../../test/app.ts';
import { createTeam } from '../../test/factories.ts';
import { callingAgent, twilioEnv } from '../../test/twilio.ts';
import type { CallQuery } from './call.service.ts';

const t = appForFile({ headerAuth: true, env: twilioEnv() });
let a: Awaited<ReturnType<typeof createTeam>>;
let b: Awaited<ReturnType<typeof createTeam>>;
type Kit = Awaited<ReturnType<typeof callingAgent>>;
/** Org A: the owner's phone and agent, the member's; org B: its owner's. */
let ownerKit: Kit;
let memberKit: Kit;
let orgBKit: Kit;
const ROLES: Role[] = ['owner', 'admin', 'manager', 'member'];
const FROM = '+14155550111';

/** The calls, by name: which phone and agent each is on. */
const sids: Record<string, string> = {};

async function logCall(
  name: string,
  org: { id: string },
  phone: Kit['phone'] | null,
  agent: Kit['agent'] | null,
  owners: { phone: string | null; agent: string | null },
  row: { direction: 'inbound' | 'outbound'; status: CallStatus; startedAt: string },
) {
  const callSid = `CA${newId().replace(/-/g, '')}`;
  sids[name] = callSid;
  await withSystem(t.database, (tx) =>
    tx
      .insertInto('calls')
      .values({
        id: newId(),
        org_id: org.id,
        call_sid: callSid,
        phone_id: phone?.id ?? null,
        agent_id: agent?.id ?? null,
        scheduled_call_id: null,
        phone_owner_id: owners.phone,
        agent_owner_id: owners.agent,
        direction: row.direction,
        from_number: row.direction === 'inbound' ? FROM : (phone?.number ?? FROM),
        to_number: row.direction === 'inbound' ? (phone?.number ?? FROM) : FROM,
        status: row.status,
        started_at: new Date(row.startedAt),
        answered_at: null,
        ended_at: null,
        duration_seconds: null,
      })
      .execute(),
  );
}

beforeAll(async () => {
  a = await createTeam(t.database);
  b = await createTeam(t.database);
  ownerKit = await callingAgent(t, [a.owner, a.org, 'owner']);
  memberKit = await callingAgent(t, [a.member, a.org, 'member']);
  orgBKit = await callingAgent(t, [b.owner, b.org, 'owner']);
  const o = { phone: a.owner.id, agent: a.owner.id };
  // ownerPhoneOwnerAgent: the owner's phone, the owner's agent.
  await logCall('ownerPhoneOwnerAgent', a.org, ownerKit.phone, ownerKit.agent, o, {
    direction: 'inbound',
    status: 'completed',
    startedAt: '2026-01-10T10:00:00Z',
  });
  // ownerPhoneMemberAgent: the owner's phone, the member's agent (an agent moved between phones
  // keeps its calls on the phone they reached); the member sees it through the agent.
  await logCall(
    'ownerPhoneMemberAgent',
    a.org,
    ownerKit.phone,
    memberKit.agent,
    { phone: a.owner.id, agent: a.member.id },
    { direction: 'outbound', status: 'busy', startedAt: '2026-01-11T10:00:00Z' },
  );
  const m = { phone: a.member.id, agent: a.member.id };
  await logCall('memberPhoneMemberAgent', a.org, memberKit.phone, memberKit.agent, m, {
    direction: 'outbound',
    status: 'completed',
    startedAt: '2026-01-12T10:00:00Z',
  });
  await logCall(
    'memberPhoneNoAgent',
    a.org,
    memberKit.phone,
    null,
    { phone: a.member.id, agent: null },
    { direction: 'inbound', status: 'no-answer', startedAt: '2026-01-13T10:00:00Z' },
  );
  await logCall(
    'orgB',
    b.org,
    orgBKit.phone,
    orgBKit.agent,
    { phone: b.owner.id, agent: b.owner.id },
    { direction: 'inbound', status: 'completed', startedAt: '2026-01-12T12:00:00Z' },
  );
});

/** The names of the calls the list answers, in the list's order (newest first). */
async function listed(role: Role, query: string): Promise<string[]> {
  const res = await t.app.inject({
    url: `/api/calls?limit=100${query ? `&${query}` : ''}`,
    headers: as(a[role], a.org, role),
  });
  expect(res.statusCode, `${role} ?${query}`).toBe(200);
  const byCallSid = new Map(Object.entries(sids).map(([name, sid]) => [sid, name]));
  return res
    .json()
    .items.map((c: { call_sid: string }) => byCallSid.get(c.call_sid) ?? c.call_sid)
    .sort();
}

const ALL_A = [
  'memberPhoneMemberAgent',
  'memberPhoneNoAgent',
  'ownerPhoneMemberAgent',
  'ownerPhoneOwnerAgent',
];
/** A member's own: their phone's calls and their agent's. */
const MEMBER_SEES = ['memberPhoneMemberAgent', 'memberPhoneNoAgent', 'ownerPhoneMemberAgent'];

const visibleTo = (role: Role, names: string[]) =>
  names.filter((n) => role !== 'member' || MEMBER_SEES.includes(n)).sort();

describe('GET /api/calls: phone_id and agent_id filter within what the caller sees', () => {
  const cases: [label: string, query: () => string, expected: string[]][] = [
    ['no filter', () => '', ALL_A],
    [
      "the owner's phone",
      () => `phone_id=${ownerKit.phone.id}`,
      ['ownerPhoneMemberAgent', 'ownerPhoneOwnerAgent'],
    ],
    [
      "the member's phone",
      () => `phone_id=${memberKit.phone.id}`,
      ['memberPhoneMemberAgent', 'memberPhoneNoAgent'],
    ],
    ["the owner's agent", () => `agent_id=${ownerKit.agent.id}`, ['ownerPhoneOwnerAgent']],
    [
      "the member's agent",
      () => `agent_id=${memberKit.agent.id}`,
      ['memberPhoneMemberAgent', 'ownerPhoneMemberAgent'],
    ],
    [
      "the owner's phone and the member's agent",
      () => `phone_id=${ownerKit.phone.id}&agent_id=${memberKit.agent.id}`,
      ['ownerPhoneMemberAgent'],
    ],
    [
      "the member's phone and the owner's agent",
      () => `phone_id=${memberKit.phone.id}&agent_id=${ownerKit.agent.id}`,
      [],
    ],
    ["another org's phone", () => `phone_id=${orgBKit.phone.id}`, []],
    ["another org's agent", () => `agent_id=${orgBKit.agent.id}`, []],
    ['a phone id of nothing', () => `phone_id=${newId()}`, []],
    ['an agent id of nothing', () => `agent_id=${newId()}`, []],
    // The filters stated beside the two, each still applied.
    [
      "the member's agent, outbound",
      () => `agent_id=${memberKit.agent.id}&direction=outbound&status=busy`,
      ['ownerPhoneMemberAgent'],
    ],
    [
      "the member's phone, a number and a window",
      () =>
        `phone_id=${memberKit.phone.id}&number=${encodeURIComponent(FROM)}` +
        '&since=2026-01-13T00:00:00Z&until=2026-01-14T00:00:00Z',
      ['memberPhoneNoAgent'],
    ],
  ];

  it.each(ROLES)('%s', async (role) => {
    for (const [label, query, expected] of cases) {
      expect(await listed(role, query()), `${role}: ${label}`).toEqual(visibleTo(role, expected));
    }
  });

  it("another org's owner filtering by org A's phone or agent gets nothing of org A", async () => {
    for (const query of [`phone_id=${ownerKit.phone.id}`, `agent_id=${memberKit.agent.id}`]) {
      const res = await t.app.inject({
        url: `/api/calls?limit=100&${query}`,
        headers: as(b.owner, b.org, 'owner'),
      });
      expect(res.statusCode).toBe(200);
      expect(res.json().items, query).toEqual([]);
    }
  });

  it('pages under a filter: the cursor keeps it', async () => {
    const page = (cursor?: string) =>
      t.app.inject({
        url: `/api/calls?limit=1&phone_id=${ownerKit.phone.id}${cursor ? `&cursor=${cursor}` : ''}`,
        headers: as(a.owner, a.org, 'owner'),
      });
    const first = (await page()).json();
    expect(first.items).toHaveLength(1);
    const second = (await page(first.next_cursor)).json();
    expect(second.items).toHaveLength(1);
    expect(second.next_cursor).toBeNull();
    expect([first.items[0].call_sid, second.items[0].call_sid].sort()).toEqual(
      [sids.ownerPhoneMemberAgent, sids.ownerPhoneOwnerAgent].sort(),
    );
  });

  it('a malformed id is a 400 naming the parameter, not a list', async () => {
    for (const name of ['phone_id', 'agent_id']) {
      const res = await t.app.inject({
        url: `/api/calls?${name}=not-a-uuid`,
        headers: as(a.owner, a.org, 'owner'),
      });
      expect(res.statusCode, name).toBe(400);
      expect(res.json().code).toBe('validation_failed');
    }
  });
});

describe('the service boundary is typed against the query spelling (checked by tsc)', () => {
  it('a spread of the raw snake_case query does not compile as the call filters', () => {
    const raw: { limit: number; phone_id?: string; agent_id?: string } = { limit: 1 };
    // @ts-expect-error phoneId, agentId (and every other filter) must be named, not spread
    const spread: CallQuery = { ...raw };
    // @ts-expect-error the snake_case spelling is not a key of the filters
    const misspelt: CallQuery = { ...stated(), phone_id: raw.phone_id };
    expect([spread, misspelt]).toHaveLength(2);
  });
});

function stated(): CallQuery {
  return {
    limit: 1,
    cursor: undefined,
    since: undefined,
    until: undefined,
    status: undefined,
    direction: undefined,
    phoneId: undefined,
    agentId: undefined,
    number: undefined,
  };
}
