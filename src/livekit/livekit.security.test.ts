// Hostile cases for LiveKit: forged, body-changed, stale and replayed webhooks; rooms of other
// orgs and other users; reading other people's voice sessions; keys without the scope; a pending
// MFA step; and revocation — every way a session ends removes the participant from the room (in
// the fake LiveKit server, through the real RoomServiceClient), closes its voice session and
// leaves nothing that mints a new token or rejoins with the old one.
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { AccessToken, WebhookEvent } from 'livekit-server-sdk';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { issueUserToken } from '../auth/user-tokens.ts';
import { hashToken } from '../crypto/tokens.ts';
import { withSystem, withTenant } from '../db/tenant.ts';
import type { TestApp } from '../test/app.ts';
import { bearer, changePassword, GOOD_PASSWORD, loginUser, logOut } from '../test/auth-helpers.ts';
import type { FakeLiveKit } from '../test/fake-livekit.ts';
import {
  type LiveKitTestApp,
  postWebhook,
  requestRoomToken,
  startLiveKitTestApp,
} from '../test/livekit-helpers.ts';
import { registerUnderMfaPolicy } from '../test/mfa-helpers.ts';
import {
  ADMIN_ENV,
  createKey,
  logIn,
  type Person,
  person,
  removeMember,
  setRole,
  superuser,
  type Team,
  team,
} from '../test/org-helpers.ts';

let lk: LiveKitTestApp;
let t: TestApp;
let fake: FakeLiveKit;
let a: Team;
let b: Team;

beforeAll(async () => {
  lk = await startLiveKitTestApp({ env: ADMIN_ENV });
  ({ t, fake } = lk);
  a = await team(t, 'Org A');
  b = await team(t, 'Org B');
});
afterAll(() => lk.close());

async function issue(headers: Record<string, string>, body: object = {}) {
  const res = await requestRoomToken(t.app, headers, body);
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as { livekit_token: string; room_name: string; session_id: string };
}

const row = (id: string) =>
  withSystem(t.database, (tx) =>
    tx.selectFrom('voice_sessions').selectAll().where('id', '=', id).executeTakeFirst(),
  );

const countRows = async (table: 'voice_sessions' | 'livekit_webhook_events') =>
  (
    await withSystem(t.database, (tx) =>
      sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)}`.execute(tx),
    )
  ).rows[0]?.n;

/** A participant_joined event for a token, as LiveKit would send it. */
function joinedEvent(r: { room_name: string; session_id: string }, identity: string) {
  const e = new WebhookEvent({
    id: `EV_${randomUUID()}`,
    createdAt: BigInt(Math.floor(Date.now() / 1000)),
    room: { name: r.room_name, sid: 'RM_x' } as never,
    participant: {
      identity,
      joinedAt: BigInt(Math.floor(Date.now() / 1000)),
      attributes: { 'switchboard.voice_session_id': r.session_id },
    } as never,
  });
  e.event = 'participant_joined';
  return e;
}

describe('webhooks: only LiveKit, only once', () => {
  it('forged, body-changed, stale, unsigned or participant-token deliveries → 401, nothing stored', async () => {
    const r = await issue(a.member.headers, { room_name: 'hooks' });
    const event = joinedEvent(r, a.member.user.id);
    const genuine = await fake.sign(event);
    const events = await countRows('livekit_webhook_events');

    const forged = await fake.sign(event, { apiSecret: 'not-the-secret-0123456789abcdef0123' });
    const otherKey = await fake.sign(event, { apiKey: 'APIsomeoneelse' });
    const changed = { ...genuine, body: genuine.body.replace(a.member.user.id, a.owner.user.id) };
    // Signed ten minutes ago: LiveKit's webhook tokens live five.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() - 10 * 60_000 });
    const stale = await fake.sign(event);
    vi.useRealTimers();
    // A room token (even an admin's) carries no body hash.
    const participant = new AccessToken(fake.apiKey, fake.apiSecret, { identity: 'x' });
    participant.addGrant({ roomAdmin: true, room: r.room_name });
    const participantToken = { body: genuine.body, authorization: await participant.toJwt() };

    for (const [label, w] of [
      ['forged', forged],
      ['another API key', otherKey],
      ['body changed', changed],
      ['stale', stale],
      ['participant token', participantToken],
      ['no header', { body: genuine.body, authorization: '' }],
      ['garbage header', { body: genuine.body, authorization: 'Bearer x.y.z' }],
    ] as const) {
      const res = await postWebhook(t, w);
      expect(res.statusCode, label).toBe(401);
      expect(res.json().code, label).toBe('invalid_webhook_token');
      expect(res.headers['content-type'], label).toMatch(/^application\/problem\+json/);
    }
    expect(await countRows('livekit_webhook_events')).toBe(events);
    expect(await row(r.session_id)).toMatchObject({ status: 'issued', started_at: null });

    // The genuine one goes through.
    expect((await postWebhook(t, genuine)).json()).toEqual({ result: 'applied' });
    expect(await row(r.session_id)).toMatchObject({ status: 'active' });
  });

  it('a replayed event is acknowledged and applied once', async () => {
    const r = await issue(a.member.headers, { room_name: 'replay' });
    const p = await fake.join(r.livekit_token);
    const joined = fake.deliveries.findLast((d) => d.event === 'participant_joined');
    expect(joined?.status).toBe(200);
    await fake.leave(r.room_name, p.identity);
    const left = fake.deliveries.at(-1);
    expect(left).toMatchObject({ event: 'participant_left', status: 200 });
    const after = await row(r.session_id);
    expect(after).toMatchObject({ status: 'ended', end_reason: 'left' });

    for (const d of [joined, left]) {
      const res = await postWebhook(t, d!.webhook);
      expect(res.statusCode).toBe(200);
      expect(res.json().result).toBe('duplicate');
    }
    // The replayed join did not reopen the session.
    expect(await row(r.session_id)).toEqual(after);
  });

  it("an event's time far from this server's clock is replaced by the time of receipt", async () => {
    const INT64_MAX = 9223372036854775807n;
    const year2100 = 4102444800n;
    for (const [joinedAt, leftAt] of [
      [INT64_MAX, INT64_MAX],
      [BigInt(Math.floor(Date.now() / 1000)), year2100],
      [253402300800n, 8640000000000n], // years 10000 and 275760
    ] as const) {
      const r = await issue(a.member.headers, { room_name: `clock-${joinedAt}` });
      const join = joinedEvent(r, a.member.user.id);
      join.createdAt = joinedAt;
      join.participant!.joinedAt = joinedAt;
      join.participant!.sid = `PA_${randomUUID()}`;
      const joined = await postWebhook(t, await fake.sign(join));
      expect(joined.statusCode, joined.body).toBe(200);
      const left = new WebhookEvent({
        id: `EV_${randomUUID()}`,
        createdAt: leftAt,
        room: join.room,
        participant: join.participant,
      });
      left.event = 'participant_left';
      const res = await postWebhook(t, await fake.sign(left));
      expect(res.statusCode, res.body).toBe(200);
      const s = await row(r.session_id);
      expect(s).toMatchObject({ status: 'ended', end_reason: 'left' });
      for (const time of [s!.started_at, s!.ended_at]) {
        expect(Math.abs(time!.getTime() - Date.now())).toBeLessThan(60_000);
      }
      expect(s!.duration_seconds).toBeLessThan(60);
      const listed = await t.app.inject({ url: '/api/voice-sessions', headers: a.member.headers });
      expect(listed.statusCode, listed.body).toBe(200);
      const item = listed.json().items.find((i: { id: string }) => i.id === r.session_id);
      expect(item.started_at).toMatch(/^\d{4}-/);
    }
  });

  it('events for rooms of no organization, or for people without a session, are ignored', async () => {
    const before = await countRows('livekit_webhook_events');
    const r = await issue(a.member.headers, { room_name: 'ignored' });
    for (const room of ['lobby', `${randomUUID()}__lobby`, `${a.org.id}__`, `${a.org.id}__a__b`]) {
      const status = await fake.send({
        event: 'participant_joined',
        room: { name: room } as never,
        participant: { identity: a.member.user.id } as never,
      });
      expect(status, room).toBe(200);
      expect(fake.deliveries.at(-1)?.status).toBe(200);
    }
    // Another org's member in A's room (LiveKit would not let them in; the record stays shut).
    const e = joinedEvent(r, b.member.user.id);
    expect((await postWebhook(t, await fake.sign(e))).json()).toEqual({ result: 'ignored' });
    // A session id claimed for another participant's identity.
    const e2 = joinedEvent(r, a.owner.user.id);
    expect((await postWebhook(t, await fake.sign(e2))).json()).toEqual({ result: 'ignored' });
    expect(await countRows('livekit_webhook_events')).toBe(before);
    expect(await row(r.session_id)).toMatchObject({ status: 'issued' });
  });
});

describe('room names: an org names only its own rooms', () => {
  it.each([
    ['another org’s namespace', () => `${b.org.id}__standup`, 400],
    ['the separator', () => 'a__b', 400],
    ['its own full name', () => `${a.org.id}__standup`, 400],
    ['a dot', () => 'a.b', 400],
    ['a slash', () => 'a/b', 400],
    ['a space', () => 'a b', 400],
    ['empty', () => '', 400],
    ['too long', () => 'x'.repeat(65), 400],
    ['a leading dash', () => '-x', 400],
    ['another user’s personal room', () => `user-${a.owner.user.id}`, 403],
    ['another user’s personal room (case)', () => `User-${a.owner.user.id}`, 403],
  ])('%s is refused, nothing recorded', async (_label, name, status) => {
    const before = await countRows('voice_sessions');
    const res = await requestRoomToken(t.app, a.member.headers, { room_name: name() });
    expect(res.statusCode, res.body).toBe(status);
    expect(await countRows('voice_sessions')).toBe(before);
  });

  it('one’s own personal room by name is fine', async () => {
    const r = await issue(a.member.headers, { room_name: `user-${a.member.user.id}` });
    expect(r.room_name).toBe(`${a.org.id}__user-${a.member.user.id}`);
  });

  it('the same name in two orgs is two rooms', async () => {
    const ra = await issue(a.member.headers, { room_name: 'sales' });
    const rb = await issue(b.member.headers, { room_name: 'sales' });
    expect(ra.room_name).not.toBe(rb.room_name);
    expect(rb.room_name).toBe(`${b.org.id}__sales`);
  });
});

describe('who may mint and read', () => {
  it('members read only their own sessions; managers the org’s; other orgs nothing', async () => {
    const mine = await issue(a.member.headers, { room_name: 'private' });
    const other = await person(t, a.org, 'member', 'other-member');
    const theirs = await issue(other.headers, { room_name: 'private' });

    const list = async (p: Person, q = '') => {
      const res = await t.app.inject({
        url: `/api/voice-sessions?limit=100${q}`,
        headers: p.headers,
      });
      return res;
    };
    const ids = async (p: Person, q = '') =>
      ((await list(p, q)).json().items as { id: string }[]).map((s) => s.id);

    expect(await ids(other)).toContain(theirs.session_id);
    expect(await ids(other)).not.toContain(mine.session_id);
    const asked = await list(other, `&user_id=${a.member.user.id}`);
    expect(asked.statusCode).toBe(403);
    // Their own id written in capitals is still their own (a uuid is case-insensitive).
    const own = await list(a.member, `&user_id=${a.member.user.id.toUpperCase()}`);
    expect(own.statusCode, own.body).toBe(200);
    expect((own.json().items as { id: string }[]).map((s) => s.id)).toContain(mine.session_id);
    expect(await ids(a.manager, `&user_id=${a.member.user.id}`)).toContain(mine.session_id);
    expect(await ids(a.manager)).toEqual(
      expect.arrayContaining([mine.session_id, theirs.session_id]),
    );
    expect(await ids(b.owner)).not.toContain(mine.session_id);
    expect(await ids(b.owner, `&user_id=${a.member.user.id}`)).toEqual([]);
    const crossRoom = await list(b.owner, `&room_name=${a.org.id}__private`);
    expect(crossRoom.statusCode).toBe(400);
  });

  it('row-level security alone keeps a member to their own rows', async () => {
    const other = await person(t, a.org, 'member', 'rls-member');
    await issue(other.headers, { room_name: 'rls' });
    const seen = await withTenant(
      t.database,
      { orgId: a.org.id, userId: other.user.id, role: 'member' },
      (tx) => tx.selectFrom('voice_sessions').select('user_id').execute(),
    );
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((s) => s.user_id === other.user.id)).toBe(true);
    // A person cannot move a session on (only verified webhooks and the system path do).
    const moved = await withTenant(
      t.database,
      { orgId: a.org.id, userId: other.user.id, role: 'owner' },
      (tx) =>
        tx
          .updateTable('voice_sessions')
          .set({ status: 'ended', end_reason: 'left' })
          .where('user_id', '=', other.user.id)
          .executeTakeFirst(),
    );
    expect(Number(moved.numUpdatedRows)).toBe(0);
  });

  it('a key without livekit:join is refused on both token routes; with voice_sessions:read it lists', async () => {
    const key = await createKey(t.app, a.owner, ['prompts:read', 'voice_sessions:read']);
    for (const url of ['/api/livekit/token', '/auth/token']) {
      const res = await t.app.inject({ method: 'POST', url, headers: key.headers, payload: {} });
      expect(res.statusCode, url).toBe(403);
    }
    const noRead = await createKey(t.app, a.owner, ['livekit:join']);
    expect(
      (await t.app.inject({ url: '/api/voice-sessions', headers: noRead.headers })).statusCode,
    ).toBe(403);
    expect(
      (await t.app.inject({ url: '/api/voice-sessions', headers: key.headers })).statusCode,
    ).toBe(200);
  });

  it('a pending MFA step gets no token: not at login, not on the token routes', async () => {
    const u = await registerUnderMfaPolicy(t);
    const login = await loginUser(t.app, u.email, u.password);
    expect(login.statusCode).toBe(200);
    expect(login.json().livekit_token).toBeUndefined();
    expect(login.json().livekit_url).toBeUndefined();
    for (const url of ['/api/livekit/token', '/auth/token']) {
      const res = await t.app.inject({
        method: 'POST',
        url,
        headers: bearer(login.json().access_token),
        payload: {},
      });
      expect(res.statusCode, url).toBe(403);
    }
  });

  it('an unauthenticated caller gets 401', async () => {
    for (const url of ['/api/livekit/token', '/auth/token']) {
      expect((await t.app.inject({ method: 'POST', url, payload: {} })).statusCode).toBe(401);
    }
    expect((await t.app.inject({ url: '/api/voice-sessions' })).statusCode).toBe(401);
  });
});

describe('revocation evicts, and the revoked cannot come back', () => {
  /** A fresh member of org A, logged in, in a room. */
  async function inRoom(role: 'member' | 'manager' | 'admin', tag: string) {
    const p = await person(t, a.org, role, tag);
    const r = await issue(p.headers, { room_name: `room-${tag}` });
    await fake.join(r.livekit_token);
    expect(fake.rooms.get(r.room_name)?.participants.has(p.user.id)).toBe(true);
    return { p, r };
  }

  async function expectEvicted(
    p: Person,
    r: { room_name: string; session_id: string; livekit_token: string },
  ) {
    await t.app.livekit.idle();
    expect(fake.rooms.get(r.room_name)?.participants.has(p.user.id) ?? false).toBe(false);
    expect(await row(r.session_id)).toMatchObject({ status: 'revoked', end_reason: 'revoked' });
    await expect(fake.join(r.livekit_token)).rejects.toThrow(/revoked/);
  }

  /** Ends the login session behind a room session in the database alone (no notification). */
  async function endLoginSessionInDatabase(r: { session_id: string }) {
    const { auth_session_id } = (await row(r.session_id))!;
    await withSystem(t.database, (tx) =>
      tx
        .updateTable('sessions')
        .set({ revoked_at: new Date(), revoked_reason: 'logout' })
        .where('id', '=', auth_session_id!)
        .execute(),
    );
  }

  async function expectNoNewToken(headers: Record<string, string>) {
    const res = await requestRoomToken(t.app, headers);
    expect(res.statusCode).toBe(401);
  }

  it('a participant who left and joins again with the same token is tracked, and evicted at logout', async () => {
    // A client that reconnects after a network change leaves and joins with its token again.
    const p = await person(t, a.org, 'member', 'rejoin');
    const login = await logIn(t.app, p.email);
    const r = await issue(bearer(login.access), { room_name: 'room-rejoin' });
    await fake.join(r.livekit_token);
    await fake.leave(r.room_name, p.user.id);
    expect(await row(r.session_id)).toMatchObject({ status: 'ended', end_reason: 'left' });
    await fake.join(r.livekit_token);
    expect(fake.deliveries.at(-1)).toMatchObject({ event: 'participant_joined', status: 200 });
    expect(await row(r.session_id)).toMatchObject({ status: 'active', end_reason: null });

    expect((await logOut(t.app, bearer(login.access))).statusCode).toBe(204);
    await expectEvicted(p, r);
  });

  it('a revoked session whose token joins again (an older LiveKit) is removed again', async () => {
    const { p, r } = await inRoom('member', 'revoked-rejoin');
    expect((await removeMember(t.app, a.owner, p)).statusCode).toBe(204);
    await t.app.livekit.idle();
    expect(await row(r.session_id)).toMatchObject({ status: 'revoked' });
    const removals = () =>
      fake.requests.filter(
        (q) =>
          q.method === 'RemoveParticipant' && q.room === r.room_name && q.identity === p.user.id,
      ).length;
    const before = removals();
    const res = await postWebhook(t, await fake.sign(joinedEvent(r, p.user.id)));
    expect(res.json()).toEqual({ result: 'applied' });
    expect(removals()).toBe(before + 1);
    expect(await row(r.session_id)).toMatchObject({ status: 'revoked' });
  });

  it('member removal', async () => {
    const { p, r } = await inRoom('member', 'removed');
    const res = await removeMember(t.app, a.owner, p);
    expect(res.statusCode).toBe(204);
    await expectEvicted(p, r);
    await expectNoNewToken(p.headers);
  });

  it('demotion (the roomAdmin grant goes with it)', async () => {
    const { p, r } = await inRoom('manager', 'demoted');
    const res = await setRole(t.app, a.owner, p, 'member');
    expect(res.statusCode).toBe(200);
    await expectEvicted(p, r);
    await expectNoNewToken(p.headers);
  });

  it('user deactivation by the platform superuser', async () => {
    const { p, r } = await inRoom('member', 'disabled');
    const root = await superuser(t);
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/admin/users/${p.user.id}/disable`,
      headers: root.headers,
    });
    expect(res.statusCode).toBe(200);
    await expectEvicted(p, r);
    await expectNoNewToken(p.headers);
  });

  it('password change ends the other sessions and their participants', async () => {
    const { p, r } = await inRoom('member', 'pwchange');
    const other = await logIn(t.app, p.email);
    const res = await changePassword(
      t.app,
      bearer(other.access),
      GOOD_PASSWORD,
      `${GOOD_PASSWORD} changed`,
    );
    expect(res.statusCode).toBe(204);
    await expectEvicted(p, r);
    await expectNoNewToken(p.headers);
  });

  it('password reset ends every session and its participants', async () => {
    const { p, r } = await inRoom('member', 'pwreset');
    const { token } = await withSystem(t.database, (tx) =>
      issueUserToken(tx, { userId: p.user.id, purpose: 'reset_password', ttlMs: 600_000 }),
    );
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/password/reset',
      payload: { token, new_password: `${GOOD_PASSWORD} reset` },
    });
    expect(res.statusCode, res.body).toBe(204);
    await expectEvicted(p, r);
    await expectNoNewToken(p.headers);
  });

  it('a session revoked from the session list', async () => {
    const { p, r } = await inRoom('member', 'listrevoke');
    const other = await logIn(t.app, p.email);
    const sessions = await t.app.inject({
      url: '/api/auth/sessions',
      headers: bearer(other.access),
    });
    const target = (sessions.json().items as { id: string; current: boolean }[]).find(
      (s) => !s.current,
    );
    expect(target).toBeDefined();
    const res = await t.app.inject({
      method: 'DELETE',
      url: `/api/auth/sessions/${target!.id}`,
      headers: bearer(other.access),
    });
    expect(res.statusCode).toBe(204);
    await expectEvicted(p, r);
  });

  /** A token issued with `headers` joins `room` and its participant leaves again. */
  async function joinedAndLeft(p: Person, headers: Record<string, string>, room: string) {
    const r = await issue(headers, { room_name: room });
    await fake.join(r.livekit_token);
    await fake.leave(r.room_name, p.user.id);
    return r;
  }

  it('a participant who left, then logged out, cannot come back with the same token', async () => {
    // The logout found no open session to close (it had ended with the leave), so LiveKit was
    // never told to refuse the token: the join is let in and must be cut at once.
    const p = await person(t, a.org, 'member', 'left-then-out');
    const login = await logIn(t.app, p.email);
    const r = await joinedAndLeft(p, bearer(login.access), 'room-left-then-out');
    expect((await logOut(t.app, bearer(login.access))).statusCode).toBe(204);
    await t.app.livekit.idle();
    expect(await row(r.session_id)).toMatchObject({ status: 'ended', end_reason: 'left' });
    await fake.join(r.livekit_token);
    await expectEvicted(p, r);
  });

  it('nor after its API key was deleted', async () => {
    const creator = await person(t, a.org, 'admin', 'left-key');
    const key = await createKey(t.app, creator, ['livekit:join']);
    const r = await joinedAndLeft(creator, key.headers, 'room-left-key');
    const del = await t.app.inject({
      method: 'DELETE',
      url: `/api/api-keys/${key.id}`,
      headers: a.owner.headers,
    });
    expect(del.statusCode).toBe(204);
    await t.app.livekit.idle();
    expect(await row(r.session_id)).toMatchObject({ status: 'ended', end_reason: 'left' });
    await fake.join(r.livekit_token);
    await expectEvicted(creator, r);
  });

  it('removing the creator of an API key evicts the participants its tokens let in', async () => {
    const creator = await person(t, a.org, 'admin', 'key-creator');
    const key = await createKey(t.app, creator, ['livekit:join']);
    const r = await issue(key.headers, { room_name: 'worker-room' });
    await fake.join(r.livekit_token);
    const res = await removeMember(t.app, a.owner, creator);
    expect(res.statusCode).toBe(204);
    await expectEvicted(creator, r);
    await expectNoNewToken(key.headers);
  });

  it('a revocation made by another instance is picked up at the poll', async () => {
    const { p, r } = await inRoom('member', 'elsewhere');
    // Another instance ended the session: only the database knows.
    await endLoginSessionInDatabase(r);
    await t.app.auth.revocation.poll();
    await expectEvicted(p, r);
  });

  it('the sweep closes what a missed notification left open', async () => {
    const { p, r } = await inRoom('member', 'missed');
    await endLoginSessionInDatabase(r);
    expect((await t.app.livekit.sweep()).revoked).toBeGreaterThanOrEqual(1);
    await expectEvicted(p, r);
  });

  it('a login whose refresh chain died of idleness ends its room sessions at the sweep, and mints none', async () => {
    const p = await person(t, a.org, 'member', 'idle-login');
    const login = await logIn(t.app, p.email);
    const r = await issue(bearer(login.access), { room_name: 'room-idle-login' });
    await fake.join(r.livekit_token);
    // REFRESH_TOKEN_IDLE_TTL_SECONDS passed without a refresh: the login no longer stands
    // (the sessions list and the device sockets already judge it so), though nothing revoked it.
    await withSystem(t.database, (tx) =>
      tx
        .updateTable('refresh_tokens')
        .set({ expires_at: new Date(Date.now() - 1000) })
        .where('token_hash', '=', hashToken(login.refresh))
        .execute(),
    );
    expect((await requestRoomToken(t.app, bearer(login.access))).statusCode).toBe(401);
    expect((await t.app.livekit.sweep()).revoked).toBeGreaterThanOrEqual(1);
    await expectEvicted(p, r);
  });

  it('another device of the same user, connected now, stays', async () => {
    const p = await person(t, a.org, 'member', 'two-devices');
    const first = await issue(p.headers, { room_name: 'shared' });
    const laptop = await logIn(t.app, p.email);
    const second = await issue(bearer(laptop.access), { room_name: 'shared' });
    await fake.join(second.livekit_token);
    // The first device's session ends; it never joined, the laptop is the one in the room.
    const res = await logOut(t.app, p.headers);
    expect(res.statusCode).toBe(204);
    await t.app.livekit.idle();
    expect(await row(first.session_id)).toMatchObject({ status: 'revoked' });
    expect(await row(second.session_id)).toMatchObject({ status: 'active' });
    expect(fake.rooms.get(second.room_name)?.participants.has(p.user.id)).toBe(true);
  });

  it('a second device that replaced the first stays when the first logs out before its leave arrives', async () => {
    const p = await person(t, a.org, 'member', 'replaced');
    const first = await issue(p.headers, { room_name: 'replaced' });
    await fake.join(first.livekit_token);
    const laptop = await logIn(t.app, p.email);
    const second = await issue(bearer(laptop.access), { room_name: 'replaced' });
    // The laptop joins as the same identity: LiveKit drops the first connection, whose
    // participant_left is not delivered yet (late, or lost).
    const deliver = fake.deliver;
    fake.deliver = async (w) => (w.body.includes('participant_left') ? 0 : deliver!(w));
    try {
      await fake.join(second.livekit_token);
    } finally {
      fake.deliver = deliver;
    }
    expect(await row(first.session_id)).toMatchObject({ status: 'active' });
    expect(await row(second.session_id)).toMatchObject({ status: 'active' });
    // The first device logs out: its session is revoked, the laptop's connection stays.
    expect((await logOut(t.app, p.headers)).statusCode).toBe(204);
    await t.app.livekit.idle();
    expect(await row(first.session_id)).toMatchObject({ status: 'revoked' });
    expect(await row(second.session_id)).toMatchObject({ status: 'active' });
    expect(fake.rooms.get(second.room_name)?.participants.has(p.user.id)).toBe(true);
    // And the laptop's own logout removes it.
    expect((await logOut(t.app, bearer(laptop.access))).statusCode).toBe(204);
    await t.app.livekit.idle();
    expect(fake.rooms.get(second.room_name)?.participants.has(p.user.id) ?? false).toBe(false);
  });
});

describe('events late or out of order never leave a participant untracked', () => {
  /** A connection of `p` as a webhook names it: its sid, identity and token attributes. */
  const connection = (sid: string, p: { identity: string; attributes: Record<string, string> }) =>
    ({
      sid,
      identity: p.identity,
      attributes: p.attributes,
      joinedAt: BigInt(Math.floor(Date.now() / 1000)),
    }) as never;

  /** The room token LiveKit first handed out has expired (its later, refreshed ones have not). */
  const firstTokenExpired = (sessionId: string) =>
    withSystem(t.database, (tx) =>
      tx
        .updateTable('voice_sessions')
        .set({ token_expires_at: new Date(Date.now() - 300_000) })
        .where('id', '=', sessionId)
        .execute(),
    );

  it('a late room_finished of an earlier instance of the room leaves a later instance alone', async () => {
    const first = await issue(a.manager.headers, { room_name: 'reused' });
    await fake.join(first.livekit_token);
    // The room finishes; its room_finished is delivered only later (LiveKit retries, unordered).
    const deliver = fake.deliver;
    fake.deliver = async (w) => (w.body.includes('room_finished') ? 0 : deliver!(w));
    try {
      await fake.finishRoom(first.room_name);
    } finally {
      fake.deliver = deliver;
    }
    const late = fake.deliveries.at(-1)!;
    expect(late.event).toBe('room_finished');
    expect(await row(first.session_id)).toMatchObject({ status: 'ended', end_reason: 'left' });

    // A new instance of the same room, with someone in it.
    const p = await person(t, a.org, 'member', 'late-finish');
    const login = await logIn(t.app, p.email);
    const r = await issue(bearer(login.access), { room_name: 'reused' });
    await fake.join(r.livekit_token);
    expect((await postWebhook(t, late.webhook)).statusCode).toBe(200);
    expect(await row(r.session_id)).toMatchObject({ status: 'active', end_reason: null });

    // Still tracked: the logout removes them.
    expect((await logOut(t.app, bearer(login.access))).statusCode).toBe(204);
    await t.app.livekit.idle();
    expect(fake.rooms.get(r.room_name)?.participants.has(p.user.id) ?? false).toBe(false);
    expect(await row(r.session_id)).toMatchObject({ status: 'revoked' });
  });

  it("a reconnect after the first token's expiry is followed: the old connection's leave ends nothing", async () => {
    const p = await person(t, a.org, 'member', 'long-call');
    const login = await logIn(t.app, p.email);
    const r = await issue(bearer(login.access), { room_name: 'long-call' });
    const joined = await fake.join(r.livekit_token);
    await firstTokenExpired(r.session_id);
    const room = { name: r.room_name, sid: fake.rooms.get(r.room_name)!.sid } as never;
    // The client reconnects with the fresh token LiveKit gave it: same session attribute.
    const again = connection('PA_reconnected', joined);
    await fake.send({ event: 'participant_joined', room, participant: again });
    await fake.send({
      event: 'participant_left',
      room,
      participant: connection(joined.sid, joined),
    });
    expect(await row(r.session_id)).toMatchObject({
      status: 'active',
      participant_sid: 'PA_reconnected',
    });
    const removals = () =>
      fake.requests.filter((q) => q.method === 'RemoveParticipant' && q.room === r.room_name)
        .length;
    const before = removals();
    expect((await logOut(t.app, bearer(login.access))).statusCode).toBe(204);
    await t.app.livekit.idle();
    expect(removals()).toBeGreaterThan(before);
    expect(await row(r.session_id)).toMatchObject({ status: 'revoked' });
  });

  it('a rejoin whose leave is reported before its join does not reopen the session', async () => {
    const r = await issue(a.manager.headers, { room_name: 'rejoin-order' });
    const joined = await fake.join(r.livekit_token);
    await fake.leave(r.room_name, joined.identity);
    expect(await row(r.session_id)).toMatchObject({ status: 'ended', end_reason: 'left' });
    const room = { name: r.room_name, sid: 'RM_order' } as never;
    // The participant came back and went again; the leave of that visit arrives first.
    const visit = connection('PA_second_visit', joined);
    await fake.send({ event: 'participant_left', room, participant: visit });
    await fake.send({ event: 'participant_joined', room, participant: visit });
    expect(fake.deliveries.at(-1)).toMatchObject({ event: 'participant_joined', status: 200 });
    expect(await row(r.session_id)).toMatchObject({ status: 'ended', end_reason: 'left' });
  });

  it("a rejoin after the first token's expiry is judged like any: a logged-out user is removed", async () => {
    const p = await person(t, a.org, 'member', 'rejoin-late');
    const login = await logIn(t.app, p.email);
    const r = await issue(bearer(login.access), { room_name: 'rejoin-late' });
    const joined = await fake.join(r.livekit_token);
    await fake.leave(r.room_name, p.user.id);
    expect((await logOut(t.app, bearer(login.access))).statusCode).toBe(204);
    await t.app.livekit.idle();
    await firstTokenExpired(r.session_id);
    const room = { name: r.room_name, sid: 'RM_later' } as never;
    const before = fake.requests.filter((q) => q.method === 'RemoveParticipant').length;
    await fake.send({
      event: 'participant_joined',
      room,
      participant: connection('PA_back', joined),
    });
    expect(fake.deliveries.at(-1)).toMatchObject({ event: 'participant_joined', status: 200 });
    await t.app.livekit.idle();
    expect(fake.requests.filter((q) => q.method === 'RemoveParticipant').length).toBeGreaterThan(
      before,
    );
    expect(await row(r.session_id)).toMatchObject({ status: 'revoked' });
  });
});
