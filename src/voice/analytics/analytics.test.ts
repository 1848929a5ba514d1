// Analytics on known data: day and hour buckets in the caller's time zone, per-agent summary,
// the caller's visibility, and bad parameters.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../db/schema.ts';
import { withSystem } from '../../db/tenant.ts';
import { newId } from '../../http/ids.ts';
import { as, buildTestApp, type TestApp } from '../../test/app.ts';
import { createTeam, createVerifiedPhone } from '../../test/factories.ts';
import { create, uniqueNumber } from '../../test/twilio.ts';
import { resolveRange } from './time-range.ts';

let t: TestApp;
let a: Awaited<ReturnType<typeof createTeam>>;
let b: Awaited<ReturnType<typeof createTeam>>;
let agentX: { id: string };
let agentY: { id: string };
let memberAgent: { id: string };

async function call(
  org: { id: string },
  agent: { id: string } | null,
  startedAt: string,
  opts: { duration?: number; answered?: boolean; inProgress?: boolean; owner?: string } = {},
) {
  const started = new Date(startedAt);
  await withSystem(t.database, (tx) =>
    tx
      .insertInto('calls')
      .values({
        id: newId(),
        org_id: org.id,
        call_sid: `CA${newId().replace(/-/g, '')}`,
        phone_id: null,
        agent_id: agent?.id ?? null,
        scheduled_call_id: null,
        phone_owner_id: opts.owner ?? null,
        agent_owner_id: null,
        direction: 'inbound',
        from_number: '+14155550100',
        to_number: '+14155550199',
        // In progress: answered, not ended, no duration yet.
        status: opts.inProgress ? 'in-progress' : opts.answered ? 'completed' : 'no-answer',
        started_at: started,
        answered_at: opts.answered || opts.inProgress ? new Date(started.getTime() + 5000) : null,
        ended_at: opts.inProgress
          ? null
          : new Date(started.getTime() + 5000 + (opts.duration ?? 0) * 1000),
        duration_seconds: opts.inProgress ? null : (opts.duration ?? 0),
      })
      .execute(),
  );
}

const get = (url: string, role: Role = 'owner') =>
  t.app.inject({ url, headers: as(a[role], a.org, role) });

beforeAll(async () => {
  t = await buildTestApp({ headerAuth: true });
  a = await createTeam(t.database);
  b = await createTeam(t.database);
  const owner = [a.owner, a.org, 'owner'] as const;
  const phone = await createVerifiedPhone(t.app, t.database, as(...owner), {
    number: uniqueNumber(),
  });
  agentX = await create(t.app, '/api/agents', [...owner], {
    name: 'X',
    direction: 'incoming',
    phone_id: phone.id,
  });
  agentY = await create(t.app, '/api/agents', [...owner], {
    name: 'Y',
    direction: 'outgoing',
    phone_id: phone.id,
  });
  const memberPhone = await createVerifiedPhone(t.app, t.database, as(a.member, a.org, 'member'), {
    number: uniqueNumber(),
  });
  memberAgent = await create(t.app, '/api/agents', [a.member, a.org, 'member'], {
    name: 'M',
    direction: 'outgoing',
    phone_id: memberPhone.id,
  });
  await call(a.org, agentX, '2026-03-01T10:00:00Z', { answered: true, duration: 60 });
  await call(a.org, agentX, '2026-03-01T23:30:00Z');
  await call(a.org, agentY, '2026-03-02T00:15:00Z', { answered: true, duration: 120 });
  await call(a.org, agentX, '2026-02-28T23:30:00Z', { answered: true, duration: 30 });
  await call(a.org, agentX, '2026-02-28T12:00:00Z', { answered: true, duration: 999 });
  await call(a.org, memberAgent, '2026-03-02T15:00:00Z', {
    answered: true,
    duration: 10,
    owner: a.member.id,
  });
  // Another org's calls never count.
  await call(b.org, null, '2026-03-01T10:00:00Z', { answered: true, duration: 500 });
});
afterAll(() => t.close());

describe('calls by date', () => {
  it('buckets by calendar day in UTC, with empty days as zeros', async () => {
    const res = await get('/api/analytics/calls-by-date?from=2026-03-01&to=2026-03-03&tz=UTC');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      from: '2026-03-01',
      to: '2026-03-03',
      tz: 'UTC',
      days: [
        { date: '2026-03-01', calls: 2, answered: 1, total_duration_seconds: 60 },
        { date: '2026-03-02', calls: 2, answered: 2, total_duration_seconds: 130 },
        { date: '2026-03-03', calls: 0, answered: 0, total_duration_seconds: 0 },
      ],
      totals: {
        calls: 4,
        answered: 3,
        completed: 3,
        average_duration_seconds: 63,
        total_duration_seconds: 190,
      },
    });
  });

  it("buckets in the caller's time zone (Europe/Paris is UTC+1 in early March)", async () => {
    const res = await get('/analytics/calls-by-date?from=2026-03-01&to=2026-03-02&tz=Europe/Paris');
    expect(res.json().days).toEqual([
      { date: '2026-03-01', calls: 2, answered: 2, total_duration_seconds: 90 },
      { date: '2026-03-02', calls: 3, answered: 2, total_duration_seconds: 130 },
    ]);
  });

  it('can be narrowed to one agent', async () => {
    const res = await get(
      `/api/analytics/calls-by-date?from=2026-03-01&to=2026-03-02&agent_id=${agentY.id}`,
    );
    expect(res.json().days.map((d: { calls: number }) => d.calls)).toEqual([0, 1]);
  });
});

describe('calls by hour', () => {
  it('counts per hour of the day in tz', async () => {
    const utc = (await get('/api/analytics/calls-by-hour?from=2026-03-01&to=2026-03-03')).json();
    expect(utc.hours).toHaveLength(24);
    const nonZero = (h: { hour: number; calls: number; answered: number }[]) =>
      h.filter((x) => x.calls > 0).map((x) => [x.hour, x.calls, x.answered]);
    expect(nonZero(utc.hours)).toEqual([
      [0, 1, 1],
      [10, 1, 1],
      [15, 1, 1],
      [23, 1, 0],
    ]);
    const paris = (
      await get('/api/analytics/calls-by-hour?from=2026-03-01&to=2026-03-03&tz=Europe/Paris')
    ).json();
    expect(nonZero(paris.hours)).toEqual([
      [0, 2, 1],
      [1, 1, 1],
      [11, 1, 1],
      [16, 1, 1],
    ]);
  });
});

describe('agent summary', () => {
  it('calls, answered, completed, average duration of completed calls, total per agent', async () => {
    const res = await get('/api/analytics/agent-summary?from=2026-03-01&to=2026-03-03');
    expect(res.json().agents).toEqual(
      [
        {
          agent_id: agentX.id,
          agent_name: 'X',
          calls: 2,
          answered: 1,
          completed: 1,
          average_duration_seconds: 60,
          total_duration_seconds: 60,
        },
        {
          agent_id: memberAgent.id,
          agent_name: 'M',
          calls: 1,
          answered: 1,
          completed: 1,
          average_duration_seconds: 10,
          total_duration_seconds: 10,
        },
        {
          agent_id: agentY.id,
          agent_name: 'Y',
          calls: 1,
          answered: 1,
          completed: 1,
          average_duration_seconds: 120,
          total_duration_seconds: 120,
        },
      ].sort((p, q) => q.calls - p.calls || (p.agent_id < q.agent_id ? -1 : 1)),
    );
  });

  it('a member counts only the calls of their own phones and agents', async () => {
    const res = await get('/api/analytics/agent-summary?from=2026-03-01&to=2026-03-03', 'member');
    expect(
      res.json().agents.map((x: { agent_id: string; calls: number }) => [x.agent_id, x.calls]),
    ).toEqual([[memberAgent.id, 1]]);
    const days = (
      await get('/api/analytics/calls-by-date?from=2026-03-01&to=2026-03-03', 'member')
    ).json().days;
    expect(days.map((d: { calls: number }) => d.calls)).toEqual([0, 1, 0]);
  });
});

describe('average duration', () => {
  // Two calls of agent X ended (60 s and 90 s) and a third is still going on: it is answered but
  // has no duration yet. Averaging the answered calls' seconds would say 50 s; the figure is the
  // mean of the completed calls, 75 s — the same on the totals card and in the agents table.
  beforeAll(async () => {
    await call(a.org, agentX, '2026-04-10T09:00:00Z', { answered: true, duration: 60 });
    await call(a.org, agentX, '2026-04-10T10:00:00Z', { answered: true, duration: 90 });
    await call(a.org, agentX, '2026-04-10T11:00:00Z', { inProgress: true });
    await call(a.org, agentX, '2026-04-10T12:00:00Z');
  });
  const range = 'from=2026-04-10&to=2026-04-10';

  it('counts completed calls only, and the totals and the agents table agree', async () => {
    const byDate = (await get(`/api/analytics/calls-by-date?${range}`)).json();
    const summary = (await get(`/api/analytics/agent-summary?${range}`)).json();
    expect(byDate.totals).toEqual({
      calls: 4,
      answered: 3,
      completed: 2,
      average_duration_seconds: 75,
      total_duration_seconds: 150,
    });
    expect(summary.agents).toEqual([
      {
        agent_id: agentX.id,
        agent_name: 'X',
        calls: 4,
        answered: 3,
        completed: 2,
        average_duration_seconds: 75,
        total_duration_seconds: 150,
      },
    ]);
    // The same figure through the agent filter as well.
    const filtered = (
      await get(`/api/analytics/calls-by-date?${range}&agent_id=${agentX.id}`)
    ).json();
    expect(filtered.totals.average_duration_seconds).toBe(75);
  });

  it('is 0 with no completed call (the only answered one still in progress)', async () => {
    await call(a.org, agentY, '2026-04-20T09:00:00Z', { inProgress: true });
    const q = `from=2026-04-20&to=2026-04-20&agent_id=${agentY.id}`;
    const byDate = (await get(`/api/analytics/calls-by-date?${q}`)).json();
    const summary = (await get(`/api/analytics/agent-summary?${q}`)).json();
    expect(byDate.totals).toMatchObject({ answered: 1, completed: 0, average_duration_seconds: 0 });
    expect(summary.agents[0]).toMatchObject({ completed: 0, average_duration_seconds: 0 });
  });
});

describe('parameters', () => {
  it.each([
    ['an unknown time zone', 'tz=Mars/Olympus'],
    ['a time zone with SQL in it', "tz=UTC'%3B%20select%201--"],
    ['from after to', 'from=2026-03-05&to=2026-03-01'],
    ['more than 366 days', 'from=2024-01-01&to=2026-01-01'],
    ['a date that is not in the calendar', 'from=2026-02-30&to=2026-03-01'],
    ['a date in another shape', 'from=03/01/2026'],
    ['an unknown parameter', 'group=hour'],
  ])('rejects %s with 400', async (_label, query) => {
    const res = await get(`/api/analytics/calls-by-date?${query}`);
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('validation_failed');
  });

  it('defaults to the last 30 days up to today in tz', () => {
    const now = new Date('2026-03-10T23:30:00Z');
    expect(resolveRange({}, now)).toEqual({
      from: '2026-02-09',
      to: '2026-03-10',
      tz: 'UTC',
      zone: 'UTC',
    });
    expect(resolveRange({ tz: 'Asia/Tokyo' }, now)).toEqual({
      from: '2026-02-10',
      to: '2026-03-11',
      tz: 'Asia/Tokyo',
      zone: 'Asia/Tokyo',
    });
  });

  it('echoes the zone by its canonical name, as scheduled calls store it', async () => {
    const c = await createTeam(t.database);
    for (const [given, canonical] of [
      ['america/new_york', 'America/New_York'],
      ['utc', 'UTC'],
      ['Etc/UTC', 'UTC'],
      ['asia/TOKYO', 'Asia/Tokyo'],
    ]) {
      const res = await t.app.inject({
        url: `/api/analytics/calls-by-date?from=2026-07-01&to=2026-07-02&tz=${encodeURIComponent(given!)}`,
        headers: as(c.owner, c.org, 'owner'),
      });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().tz, given).toBe(canonical);
    }
  });
});

describe('zone names PostgreSQL reads as abbreviations', () => {
  // CET, EET, MET and WET have summer time (Intl links them to a region); PostgreSQL's
  // abbreviation table, read first, gives them fixed offsets: an hour off from spring to autumn.
  it.each([
    ['CET', 'Europe/Brussels'],
    ['MET', 'Europe/Brussels'],
    ['EET', 'Europe/Athens'],
    ['WET', 'Europe/Lisbon'],
  ])('%s buckets a summer call as %s does, and is echoed as that zone', async (abbrev, region) => {
    const c = await createTeam(t.database);
    // 22:30 UTC on 1 July: 00:30 on 2 July in Brussels (UTC+2), 01:30 in Athens, 23:30 in Lisbon.
    await call(c.org, null, '2026-07-01T22:30:00Z', { answered: true, duration: 5 });
    const ask = (tz: string, what: string) =>
      t.app.inject({
        url: `/api/analytics/${what}?from=2026-07-01&to=2026-07-02&tz=${tz}`,
        headers: as(c.owner, c.org, 'owner'),
      });
    for (const what of ['calls-by-date', 'calls-by-hour']) {
      const named = await ask(abbrev, what);
      const regional = await ask(region, what);
      expect(named.statusCode, named.body).toBe(200);
      // The same figures, said to be in the zone they were computed in.
      expect(named.json()).toEqual(regional.json());
      expect(regional.json().tz).toBe(region);
    }
  });
});
