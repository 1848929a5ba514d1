// Voice-session analytics seen by hostile callers: a member counts only their own sessions and
// asking for another user is a 403; a manager counts the org's, never another org's; a key needs
// analytics:read; a bad time zone is a 400. Sessions are rows as LiveKit's webhooks leave them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withSystem } from '../../db/tenant.ts';
import { newId } from '../../http/ids.ts';
import { buildTestApp, type TestApp } from '../../test/app.ts';
import { createKey, type Person, type Team, team } from '../../test/org-helpers.ts';

let t: TestApp;
let a: Team;
let b: Team;
// The sessions started an hour ago; the day they count on, in UTC.
const STARTED = Date.now() - 3_600_000;
const day = new Date(STARTED).toISOString().slice(0, 10);

/** An ended session of `p` in `orgId` that lasted `seconds`, started an hour ago. */
async function endedSession(orgId: string, p: Person, seconds: number) {
  const started = new Date(STARTED);
  await withSystem(t.database, (tx) =>
    tx
      .insertInto('voice_sessions')
      .values({
        id: newId(),
        org_id: orgId,
        user_id: p.user.id,
        auth_session_id: null,
        identity: p.user.id,
        room_name: `${orgId}__room`,
        source: 'api',
        status: 'ended',
        token_expires_at: new Date(Date.now() + 600_000),
        started_at: started,
        ended_at: new Date(started.getTime() + seconds * 1000),
        duration_seconds: seconds,
        end_reason: 'left',
      })
      .execute(),
  );
}

const stats = (headers: Record<string, string>, query = '') =>
  t.app.inject({ url: `/api/analytics/voice-sessions?tz=UTC${query}`, headers });
const today = (body: { days: { date: string; sessions: number }[] }) =>
  body.days.find((d) => d.date === day)?.sessions;

beforeAll(async () => {
  t = await buildTestApp();
  a = await team(t, 'Org A');
  b = await team(t, 'Org B');
  await endedSession(a.org.id, a.member, 60);
  await endedSession(a.org.id, a.manager, 120);
  await endedSession(b.org.id, b.member, 600);
});
afterAll(() => t.close());

describe('voice-session analytics', () => {
  it('a member counts their own sessions only', async () => {
    const res = await stats(a.member.headers);
    expect(res.statusCode).toBe(200);
    expect(today(res.json())).toBe(1);
    expect(res.json().users.map((u: { user_id: string }) => u.user_id)).toEqual([a.member.user.id]);
  });

  it('a member asking for another user is 403', async () => {
    const res = await stats(a.member.headers, `&user_id=${a.manager.user.id}`);
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('forbidden');
  });

  it('a manager counts the org’s sessions, never another org’s, and may pick a user', async () => {
    const res = await stats(a.manager.headers);
    expect(today(res.json())).toBe(2);
    expect(res.json().days.find((d: { date: string }) => d.date === day)).toMatchObject({
      total_duration_seconds: 180,
      minutes: 3,
    });
    const one = await stats(a.manager.headers, `&user_id=${a.member.user.id}`);
    expect(today(one.json())).toBe(1);
    const outsider = await stats(a.manager.headers, `&user_id=${b.member.user.id}`);
    expect(today(outsider.json())).toBe(0);
    expect(outsider.json().users).toEqual([]);
  });

  it('an API key needs analytics:read', async () => {
    const without = await createKey(t.app, a.owner, ['voice_sessions:read']);
    expect((await stats(without.headers)).statusCode).toBe(403);
    const withScope = await createKey(t.app, a.owner, ['analytics:read']);
    const res = await stats(withScope.headers);
    expect(res.statusCode).toBe(200);
    expect(today(res.json())).toBe(2);
  });

  it('a bad time zone or range is 400', async () => {
    expect((await stats(a.owner.headers, '&tz=Mars/Olympus')).statusCode).toBe(400);
    expect((await stats(a.owner.headers, '&from=2026-02-10&to=2026-02-01')).statusCode).toBe(400);
    expect((await stats({}, '')).statusCode).toBe(401);
  });
});
