// GET /api/messages filters × role × org. Threat: a filter the route drops answers every text the
// caller sees where one phone's (or one counterpart's) were asked for (GET /api/calls dropped
// phone_id and agent_id that way: the route spread its snake_case query into a camelCase filter,
// and this route spread the same way). Each filter is applied, inside what the caller sees; an
// id of another org or of nothing filters to an empty list.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../db/schema.ts';
import { withSystem } from '../../db/tenant.ts';
import { newId } from '../../http/ids.ts';
import { appForFile, as } from '../../test/app.ts';
import { createTeam, createVerifiedPhone } from '../../test/factories.ts';
import { twilioEnv, uniqueNumber } from '../../test/twilio.ts';
import type { MessageQuery } from './message.service.ts';

const t = appForFile({ headerAuth: true, env: twilioEnv() });
let a: Awaited<ReturnType<typeof createTeam>>;
let b: Awaited<ReturnType<typeof createTeam>>;
type Phone = { id: string; number: string };
let ownerPhone: Phone;
let memberPhone: Phone;
let orgBPhone: Phone;
const ROLES: Role[] = ['owner', 'admin', 'manager', 'member'];
const X = '+14155550121';
const Y = '+14155550122';

/** The messages, by name. */
const ids: Record<string, string> = {};

async function logMessage(
  name: string,
  org: { id: string },
  phone: Phone | null,
  owner: string | null,
  row: { direction: 'inbound' | 'outbound'; counterpart: string; createdAt: string },
) {
  const id = newId();
  ids[name] = id;
  const ours = phone?.number ?? '+14155550999';
  await withSystem(t.database, (tx) =>
    tx
      .insertInto('messages')
      .values({
        id,
        org_id: org.id,
        message_sid: `SM${id.replace(/-/g, '')}`,
        phone_id: phone?.id ?? null,
        message_agent_id: null,
        phone_owner_id: owner,
        agent_owner_id: null,
        direction: row.direction,
        from_number: row.direction === 'inbound' ? row.counterpart : ours,
        to_number: row.direction === 'inbound' ? ours : row.counterpart,
        counterpart: row.counterpart,
        body: name,
        status: 'received',
        in_reply_to: null,
        created_at: new Date(row.createdAt),
      })
      .execute(),
  );
}

beforeAll(async () => {
  a = await createTeam(t.database);
  b = await createTeam(t.database);
  const phone = (who: { id: string }, org: { id: string }, role: Role) =>
    createVerifiedPhone<Phone>(t.app, t.database, as(who, org, role), { number: uniqueNumber() });
  ownerPhone = await phone(a.owner, a.org, 'owner');
  memberPhone = await phone(a.member, a.org, 'member');
  orgBPhone = await phone(b.owner, b.org, 'owner');
  await logMessage('ownerInX', a.org, ownerPhone, a.owner.id, {
    direction: 'inbound',
    counterpart: X,
    createdAt: '2026-02-01T10:00:00Z',
  });
  await logMessage('ownerOutY', a.org, ownerPhone, a.owner.id, {
    direction: 'outbound',
    counterpart: Y,
    createdAt: '2026-02-02T10:00:00Z',
  });
  await logMessage('memberInX', a.org, memberPhone, a.member.id, {
    direction: 'inbound',
    counterpart: X,
    createdAt: '2026-02-03T10:00:00Z',
  });
  await logMessage('memberOutX', a.org, memberPhone, a.member.id, {
    direction: 'outbound',
    counterpart: X,
    createdAt: '2026-02-04T10:00:00Z',
  });
  await logMessage('phonelessInY', a.org, null, null, {
    direction: 'inbound',
    counterpart: Y,
    createdAt: '2026-02-05T10:00:00Z',
  });
  await logMessage('orgB', b.org, orgBPhone, b.owner.id, {
    direction: 'inbound',
    counterpart: X,
    createdAt: '2026-02-03T12:00:00Z',
  });
});

async function listed(role: Role, query: string): Promise<string[]> {
  const res = await t.app.inject({
    url: `/api/messages?limit=100${query ? `&${query}` : ''}`,
    headers: as(a[role], a.org, role),
  });
  expect(res.statusCode, `${role} ?${query}`).toBe(200);
  const byId = new Map(Object.entries(ids).map(([name, id]) => [id, name]));
  return res
    .json()
    .items.map((m: { id: string }) => byId.get(m.id) ?? m.id)
    .sort();
}

const ALL_A = ['memberInX', 'memberOutX', 'ownerInX', 'ownerOutY', 'phonelessInY'];
const MEMBER_SEES = ['memberInX', 'memberOutX'];
const visibleTo = (role: Role, names: string[]) =>
  names.filter((n) => role !== 'member' || MEMBER_SEES.includes(n)).sort();

describe('GET /api/messages: every filter applies within what the caller sees', () => {
  const cases: [label: string, query: () => string, expected: string[]][] = [
    ['no filter', () => '', ALL_A],
    ["the owner's phone", () => `phone_id=${ownerPhone.id}`, ['ownerInX', 'ownerOutY']],
    ["the member's phone", () => `phone_id=${memberPhone.id}`, ['memberInX', 'memberOutX']],
    ['phoneless', () => 'phoneless=true', ['phonelessInY']],
    ['inbound', () => 'direction=inbound', ['memberInX', 'ownerInX', 'phonelessInY']],
    [
      'a counterpart',
      () => `counterpart=${encodeURIComponent(X)}`,
      ['memberInX', 'memberOutX', 'ownerInX'],
    ],
    [
      "the member's phone, outbound",
      () => `phone_id=${memberPhone.id}&direction=outbound`,
      ['memberOutX'],
    ],
    [
      'a window',
      () => 'since=2026-02-02T00:00:00Z&until=2026-02-04T00:00:00Z',
      ['memberInX', 'ownerOutY'],
    ],
    ["another org's phone", () => `phone_id=${orgBPhone.id}`, []],
    ['a phone id of nothing', () => `phone_id=${newId()}`, []],
  ];

  it.each(ROLES)('%s', async (role) => {
    for (const [label, query, expected] of cases) {
      expect(await listed(role, query()), `${role}: ${label}`).toEqual(visibleTo(role, expected));
    }
  });

  it("another org's owner filtering by org A's phone gets nothing of org A", async () => {
    const res = await t.app.inject({
      url: `/api/messages?limit=100&phone_id=${ownerPhone.id}`,
      headers: as(b.owner, b.org, 'owner'),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().items).toEqual([]);
  });
});

describe('the service boundary is typed against the query spelling (checked by tsc)', () => {
  it('a spread of the raw snake_case query does not compile as the message filters', () => {
    const raw: { limit: number; phone_id?: string; phoneless?: boolean } = { limit: 1 };
    // @ts-expect-error phoneId (and every other filter) must be named, not spread
    const spread: MessageQuery = { ...raw };
    expect(spread.limit).toBe(1);
  });
});
