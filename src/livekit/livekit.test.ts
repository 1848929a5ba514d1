// LiveKit room tokens and voice sessions, end to end against the fake LiveKit server: every token
// issued is verified with the SDK's TokenVerifier, participants join and leave through the fake
// (which sends signed webhooks into the app), and sessions are listed as they went.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withSystem } from '../db/tenant.ts';
import { newId } from '../http/ids.ts';
import { buildTestApp, type TestApp } from '../test/app.ts';
import { bearer, logOut, registerUser } from '../test/auth-helpers.ts';
import type { FakeLiveKit } from '../test/fake-livekit.ts';
import {
  type LiveKitTestApp,
  requestRoomToken,
  startLiveKitTestApp,
  verifyRoomToken,
} from '../test/livekit-helpers.ts';
import { createKey, logIn, type Team, team } from '../test/org-helpers.ts';

let lk: LiveKitTestApp;
let t: TestApp;
let fake: FakeLiveKit;
let a: Team;

beforeAll(async () => {
  lk = await startLiveKitTestApp({ env: { LIVEKIT_TOKEN_TTL_SECONDS: '900' } });
  ({ t, fake } = lk);
  a = await team(t);
});
afterAll(() => lk.close());

async function token(
  headers: Record<string, string>,
  body: object = {},
  url = '/api/livekit/token',
) {
  const res = await requestRoomToken(t.app, headers, body, url);
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as {
    livekit_token: string;
    livekit_url: string;
    room_name: string;
    session_id: string;
    expires_at: string;
  };
}

async function sessions(headers: Record<string, string>, query = '') {
  const res = await t.app.inject({ url: `/api/voice-sessions${query}`, headers });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as { items: Record<string, unknown>[]; next_cursor: string | null };
}

const sessionOf = async (headers: Record<string, string>, id: string) =>
  (await sessions(headers, '?limit=100')).items.find((s) => s.id === id);

describe('room tokens', () => {
  it('sign-up answers a token for the personal room, verified with the SDK', async () => {
    const u = await registerUser(t.app, { full_name: 'Grace Hopper' });
    const body = u.res.json();
    expect(body.livekit_url).toBe(fake.url);
    const claims = await verifyRoomToken(fake, body.livekit_token);
    expect(claims.sub).toBe(u.userId);
    expect(claims.name).toBe('Grace Hopper');
    expect(claims.video).toMatchObject({
      room: `${u.orgId}__user-${u.userId}`,
      roomJoin: true,
      canPublish: true,
      canSubscribe: true,
      canPublishData: true,
      canUpdateOwnMetadata: false,
      roomAdmin: true, // the new org's owner
    });
    expect((claims.exp ?? 0) - (claims.nbf ?? 0)).toBe(900);
    const metadata = JSON.parse(claims.metadata ?? '{}');
    expect(metadata).toMatchObject({
      user: { id: u.userId, name: 'Grace Hopper' },
      org: { id: u.orgId, name: 'Acme Voice' },
      role: 'owner',
      preferences_digest: null,
    });
    const [row] = (await sessions(bearer(u.access))).items;
    expect(row).toMatchObject({
      id: metadata.session_id,
      source: 'register',
      status: 'issued',
      identity: u.userId,
      room_name: `${u.orgId}__user-${u.userId}`,
    });
    expect(claims.attributes).toEqual({ 'switchboard.voice_session_id': metadata.session_id });
  });

  it('login answers one too; the session it opened is the one that minted it', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email: a.member.email, password: 'correct horse battery staple 42' },
    });
    expect(res.statusCode).toBe(200);
    const claims = await verifyRoomToken(fake, res.json().livekit_token);
    expect(claims.sub).toBe(a.member.user.id);
    expect(claims.video?.roomAdmin).toBeUndefined();
    const row = await withSystem(t.database, (tx) =>
      tx
        .selectFrom('voice_sessions')
        .selectAll()
        .where('id', '=', JSON.parse(claims.metadata ?? '{}').session_id)
        .executeTakeFirstOrThrow(),
    );
    expect(row.source).toBe('login');
    expect(row.auth_session_id).not.toBeNull();
  });

  it('members join, publish and subscribe in a named room of their org; no roomAdmin', async () => {
    const r = await token(a.member.headers, { room_name: 'standup', participant_name: 'Ada' });
    expect(r.room_name).toBe(`${a.org.id}__standup`);
    expect(r.livekit_url).toBe(fake.url);
    const claims = await verifyRoomToken(fake, r.livekit_token);
    expect(claims.sub).toBe(a.member.user.id);
    expect(claims.name).toBe('Ada');
    expect(claims.video).toEqual({
      room: `${a.org.id}__standup`,
      roomJoin: true,
      canPublish: true,
      canSubscribe: true,
      canPublishData: true,
      canUpdateOwnMetadata: false,
    });
    expect(claims.exp).toBe(Math.floor(new Date(r.expires_at).getTime() / 1000));
    expect(JSON.parse(claims.metadata ?? '{}')).toMatchObject({
      role: 'member',
      session_id: r.session_id,
    });
  });

  it.each(['owner', 'admin', 'manager'] as const)(
    '%s gets roomAdmin for the room',
    async (role) => {
      const r = await token(a[role].headers, { room_name: 'ops' });
      const claims = await verifyRoomToken(fake, r.livekit_token);
      expect(claims.video).toMatchObject({ room: `${a.org.id}__ops`, roomAdmin: true });
    },
  );

  it('agent_name dispatches the agent through the room configuration', async () => {
    const r = await token(a.member.headers, { room_name: 'with-agent', agent_name: 'assistant' });
    const claims = await verifyRoomToken(fake, r.livekit_token);
    const config = claims.roomConfig as unknown as { agents: { agentName: string }[] };
    expect(config.agents.map((x) => x.agentName)).toEqual(['assistant']);
    await fake.join(r.livekit_token);
    expect(fake.rooms.get(r.room_name)?.dispatchedAgents.map((x) => x.agentName)).toEqual([
      'assistant',
    ]);
  });

  it('POST /auth/token answers the same, recorded as auth_token', async () => {
    const r = await token(a.member.headers, {}, '/auth/token');
    expect(r.room_name).toBe(`${a.org.id}__user-${a.member.user.id}`);
    const claims = await verifyRoomToken(fake, r.livekit_token);
    expect(claims.video?.room).toBe(r.room_name);
    expect(await sessionOf(a.member.headers, r.session_id)).toMatchObject({ source: 'auth_token' });
  });

  it('an API key with livekit:join mints for its creator, never with roomAdmin', async () => {
    const key = await createKey(t.app, a.owner, ['livekit:join']);
    for (const url of ['/api/livekit/token', '/auth/token']) {
      const r = await token(key.headers, { room_name: 'worker' }, url);
      const claims = await verifyRoomToken(fake, r.livekit_token);
      expect(claims.sub).toBe(a.owner.user.id);
      expect(claims.video?.roomAdmin).toBeUndefined();
      const row = await withSystem(t.database, (tx) =>
        tx
          .selectFrom('voice_sessions')
          .selectAll()
          .where('id', '=', r.session_id)
          .executeTakeFirstOrThrow(),
      );
      expect(row.auth_session_id).toBeNull();
    }
  });
});

describe('voice sessions from webhooks', () => {
  it('issued → active on join → ended on leave, with the duration from the events', async () => {
    const r = await token(a.member.headers, { room_name: 'call-1' });
    const p = await fake.join(r.livekit_token);
    expect(fake.deliveries.at(-1)).toMatchObject({ event: 'participant_joined', status: 200 });
    const active = await sessionOf(a.member.headers, r.session_id);
    expect(active).toMatchObject({ status: 'active', ended_at: null });
    expect(new Date(active?.started_at as string).getTime()).toBe(p.joinedAt * 1000);

    // Let the clock move so the duration is not zero: the left event is sent 2 s later.
    await fake.send({
      event: 'participant_left',
      createdAt: BigInt(p.joinedAt + 2),
      room: { name: r.room_name, sid: 'RM_x' } as never,
      participant: { identity: p.identity, attributes: p.attributes } as never,
    });
    const ended = await sessionOf(a.member.headers, r.session_id);
    expect(ended).toMatchObject({ status: 'ended', end_reason: 'left', duration_seconds: 2 });
  });

  /** A participant's event payload for one of its connections (`sid`), as LiveKit reports it. */
  const connection = (
    p: { identity: string; attributes: Record<string, string>; joinedAt: number },
    sid: string,
  ) =>
    ({
      sid,
      identity: p.identity,
      attributes: p.attributes,
      joinedAt: BigInt(p.joinedAt),
    }) as never;

  it('a reconnect (the new connection reported before the old one left) keeps the session open', async () => {
    const r = await token(a.member.headers, { room_name: 'reconnect-1' });
    const old = await fake.join(r.livekit_token);
    const room = { name: r.room_name, sid: 'RM_reconnect' } as never;
    const participant = (sid: string) => connection(old, sid);
    // LiveKit reports the new connection's join first, then the old connection's leave.
    expect(
      await fake.send({ event: 'participant_joined', room, participant: participant('PA_new') }),
    ).toBe(200);
    expect(
      await fake.send({ event: 'participant_left', room, participant: participant(old.sid) }),
    ).toBe(200);
    const open = await sessionOf(a.member.headers, r.session_id);
    expect(open).toMatchObject({ status: 'active', ended_at: null, end_reason: null });
    const row = await withSystem(t.database, (tx) =>
      tx
        .selectFrom('voice_sessions')
        .select('participant_sid')
        .where('id', '=', r.session_id)
        .executeTakeFirstOrThrow(),
    );
    expect(row.participant_sid).toBe('PA_new');
    // The connection it follows now is the one whose leave ends it.
    await fake.send({ event: 'participant_left', room, participant: participant('PA_new') });
    expect(await sessionOf(a.member.headers, r.session_id)).toMatchObject({
      status: 'ended',
      end_reason: 'left',
    });
  });

  it('a join reported after the same connection left does not reopen the session; a new connection does', async () => {
    const r = await token(a.member.headers, { room_name: 'late-join-1' });
    const p = await fake.join(r.livekit_token);
    await fake.leave(r.room_name, p.identity);
    expect(await sessionOf(a.member.headers, r.session_id)).toMatchObject({ status: 'ended' });
    const room = { name: r.room_name, sid: 'RM_late' } as never;
    const participant = (sid: string) => connection(p, sid);
    // The join of the connection that already left, delivered late (another event id).
    expect(
      await fake.send({ event: 'participant_joined', room, participant: participant(p.sid) }),
    ).toBe(200);
    expect(await sessionOf(a.member.headers, r.session_id)).toMatchObject({
      status: 'ended',
      end_reason: 'left',
    });
    // The same token joining again is a new connection: the session is open again.
    await fake.join(r.livekit_token);
    expect(await sessionOf(a.member.headers, r.session_id)).toMatchObject({
      status: 'active',
      end_reason: null,
    });
  });

  it('room_finished ends the active sessions of the room', async () => {
    const r1 = await token(a.member.headers, { room_name: 'call-2' });
    const r2 = await token(a.manager.headers, { room_name: 'call-2' });
    await fake.join(r1.livekit_token);
    await fake.join(r2.livekit_token);
    // The room closes before anyone's participant_left reached us (lost, say): room_finished
    // alone ends both.
    for (const identity of [a.member.user.id, a.manager.user.id]) {
      fake.rooms.get(r1.room_name)?.participants.delete(identity);
    }
    await fake.finishRoom(r1.room_name);
    expect(fake.deliveries.at(-1)).toMatchObject({ event: 'room_finished', status: 200 });
    for (const r of [r1, r2]) {
      expect(await sessionOf(a.manager.headers, r.session_id)).toMatchObject({
        status: 'ended',
        end_reason: 'room_finished',
      });
    }
  });

  it('a token never used expires: on read, and in the sweep', async () => {
    const r1 = await token(a.member.headers, { room_name: 'unused-1' });
    const r2 = await token(a.member.headers, { room_name: 'unused-2' });
    await withSystem(t.database, (tx) =>
      tx
        .updateTable('voice_sessions')
        .set({ token_expires_at: new Date(Date.now() - 1000) })
        .where('id', 'in', [r1.session_id, r2.session_id])
        .execute(),
    );
    expect(await t.app.livekit.sweep()).toMatchObject({ expired: 2 });
    const row = await sessionOf(a.member.headers, r1.session_id);
    expect(row).toMatchObject({ status: 'expired', end_reason: 'expired', started_at: null });

    const r3 = await token(a.member.headers, { room_name: 'unused-3' });
    await withSystem(t.database, (tx) =>
      tx
        .updateTable('voice_sessions')
        .set({ token_expires_at: new Date(Date.now() - 1000) })
        .where('id', '=', r3.session_id)
        .execute(),
    );
    expect(await sessionOf(a.member.headers, r3.session_id)).toMatchObject({ status: 'expired' });
  });

  it('lists with filters and a cursor', async () => {
    const u = await registerUser(t.app);
    const h = bearer(u.access);
    for (const room of ['f-1', 'f-2', 'f-2']) await token(h, { room_name: room });
    const all = await sessions(h, '?limit=2');
    expect(all.items).toHaveLength(2);
    expect(all.next_cursor).not.toBeNull();
    const rest = await sessions(h, `?limit=2&cursor=${all.next_cursor}`);
    expect(rest.items.length).toBe(2); // the third token, and the sign-up one
    expect((await sessions(h, '?room_name=f-2')).items).toHaveLength(2);
    expect((await sessions(h, `?room_name=${u.orgId}__f-1`)).items).toHaveLength(1);
    expect((await sessions(h, `?user_id=${u.userId}&status=issued`)).items).toHaveLength(4);
    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await sessions(h, `?since=${future}`)).items).toHaveLength(0);
    expect((await sessions(h, `?until=${future}`)).items).toHaveLength(4);
  });
});

describe('revocation reaches the room', () => {
  it('logout removes the participant, closes the session and refuses a new token', async () => {
    const u = await registerUser(t.app);
    const login = await logIn(t.app, u.email, u.password);
    const r = await token(bearer(login.access), { room_name: 'revoke-me' });
    await fake.join(r.livekit_token);
    expect(fake.rooms.get(r.room_name)?.participants.has(u.userId)).toBe(true);

    const out = await logOut(t.app, bearer(login.access));
    expect(out.statusCode).toBe(204);
    await t.app.livekit.idle();
    expect(fake.rooms.get(r.room_name)?.participants.has(u.userId) ?? false).toBe(false);
    expect(
      fake.requests.some(
        (q) => q.method === 'RemoveParticipant' && q.room === r.room_name && q.status === 200,
      ),
    ).toBe(true);
    const row = await sessionOf(bearer(u.access), r.session_id);
    expect(row).toMatchObject({ status: 'revoked', end_reason: 'revoked' });
    expect(row?.ended_at).not.toBeNull();
    // The logged-out session mints nothing more, and its old LiveKit token no longer joins.
    const again = await requestRoomToken(t.app, bearer(login.access), { room_name: 'revoke-me' });
    expect(again.statusCode).toBe(401);
    await expect(fake.join(r.livekit_token)).rejects.toThrow(/revoked/);
    // The sign-up session is untouched: its token still stands.
    const [signUp] = (await sessions(bearer(u.access))).items.filter(
      (s) => s.source === 'register',
    );
    expect(signUp).toMatchObject({ status: 'issued' });
  });

  it('revoking an API key removes the participants its tokens joined and closes their sessions', async () => {
    const key = await createKey(t.app, a.owner, ['livekit:join']);
    const r = await token(key.headers, { room_name: 'key-worker' });
    await fake.join(r.livekit_token);
    expect(fake.rooms.get(r.room_name)?.participants.has(a.owner.user.id)).toBe(true);
    // The owner's own login session holds a token of another room: a key's revocation spares it.
    const own = await token(a.owner.headers, { room_name: 'owner-desk' });

    const out = await t.app.inject({
      method: 'DELETE',
      url: `/api/api-keys/${key.id}`,
      headers: a.owner.headers,
    });
    expect(out.statusCode, out.body).toBe(204);
    await t.app.livekit.idle();
    expect(fake.rooms.get(r.room_name)?.participants.has(a.owner.user.id) ?? false).toBe(false);
    expect(
      fake.requests.some(
        (q) => q.method === 'RemoveParticipant' && q.room === r.room_name && q.status === 200,
      ),
    ).toBe(true);
    expect(await sessionOf(a.owner.headers, r.session_id)).toMatchObject({
      status: 'revoked',
      end_reason: 'revoked',
    });
    expect(await sessionOf(a.owner.headers, own.session_id)).toMatchObject({ status: 'issued' });
    await expect(fake.join(r.livekit_token)).rejects.toThrow(/revoked/);
  });

  it('the sweep closes what a key revoked on another instance minted', async () => {
    const key = await createKey(t.app, a.owner, ['livekit:join']);
    const r = await token(key.headers, { room_name: 'key-elsewhere' });
    await fake.join(r.livekit_token);
    // Revoked by another instance: this one heard nothing, its sweep finds it.
    await withSystem(t.database, (tx) =>
      tx.updateTable('api_keys').set({ revoked_at: new Date() }).where('id', '=', key.id).execute(),
    );
    expect(await t.app.livekit.sweep()).toMatchObject({ revoked: 1 });
    expect(fake.rooms.get(r.room_name)?.participants.has(a.owner.user.id) ?? false).toBe(false);
    expect(await sessionOf(a.owner.headers, r.session_id)).toMatchObject({ status: 'revoked' });
  });

  it('the sweep closes what an expired key or an expired login session minted', async () => {
    // Expired is ended, as a token mint already judges it: nothing it minted stays in a room.
    const key = await createKey(t.app, a.owner, ['livekit:join']);
    const byKey = await token(key.headers, { room_name: 'key-expired' });
    await fake.join(byKey.livekit_token);
    const u = await registerUser(t.app);
    const login = await logIn(t.app, u.email, u.password);
    const bySession = await token(bearer(login.access), { room_name: 'session-expired' });
    await fake.join(bySession.livekit_token);
    const { sid } = JSON.parse(
      Buffer.from(login.access.split('.')[1]!, 'base64url').toString(),
    ) as { sid: string };
    const past = new Date(Date.now() - 1000);
    await withSystem(t.database, async (tx) => {
      await tx.updateTable('api_keys').set({ expires_at: past }).where('id', '=', key.id).execute();
      await tx.updateTable('sessions').set({ expires_at: past }).where('id', '=', sid).execute();
    });
    // The two rooms, and the personal-room token the login answered with.
    expect(await t.app.livekit.sweep()).toMatchObject({ revoked: 3 });
    expect(fake.rooms.get(byKey.room_name)?.participants.has(a.owner.user.id) ?? false).toBe(false);
    expect(fake.rooms.get(bySession.room_name)?.participants.has(u.userId) ?? false).toBe(false);
    expect(await sessionOf(a.owner.headers, byKey.session_id)).toMatchObject({ status: 'revoked' });
    expect(await sessionOf(bearer(u.access), bySession.session_id)).toMatchObject({
      status: 'revoked',
    });
  });

  it('a participant not in the room is fine (not_found is ignored)', async () => {
    const u = await registerUser(t.app);
    const r = await token(bearer(u.access), { room_name: 'never-joined' });
    const out = await logOut(t.app, bearer(u.access), true);
    expect(out.statusCode).toBe(204);
    await t.app.livekit.idle();
    const row = await withSystem(t.database, (tx) =>
      tx
        .selectFrom('voice_sessions')
        .select(['status', 'end_reason'])
        .where('id', '=', r.session_id)
        .executeTakeFirstOrThrow(),
    );
    expect(row).toEqual({ status: 'revoked', end_reason: 'revoked' });
  });
});

describe('without LiveKit configured', () => {
  let plain: TestApp;
  beforeAll(async () => {
    plain = await buildTestApp();
  });
  afterAll(() => plain.close());

  it('every LiveKit route answers 503 livekit_not_configured; sign-up gains no fields', async () => {
    const u = await registerUser(plain.app);
    expect(Object.keys(u.res.json())).not.toContain('livekit_token');
    expect(Object.keys(u.res.json())).not.toContain('livekit_url');
    for (const [method, url] of [
      ['POST', '/api/livekit/token'],
      ['POST', '/auth/token'],
    ] as const) {
      const res = await plain.app.inject({ method, url, headers: bearer(u.access) });
      expect(res.statusCode, url).toBe(503);
      expect(res.json().code).toBe('livekit_not_configured');
    }
    const hook = await plain.app.inject({
      method: 'POST',
      url: '/webhooks/livekit',
      headers: { 'content-type': 'application/webhook+json', authorization: 'x' },
      payload: '{}',
    });
    expect(hook.statusCode).toBe(503);
    const rows = await withSystem(plain.database, (tx) =>
      sql<{ n: number }>`select count(*)::int as n from voice_sessions`.execute(tx),
    );
    expect(rows.rows[0]?.n).toBe(0);
  });

  it('the stored voice-session history is still read (a server that had LiveKit keeps it)', async () => {
    const org = await team(plain, 'History');
    const started = new Date(Date.now() - 120_000);
    const ended = (who: { user: { id: string } }) =>
      withSystem(plain.database, (tx) =>
        tx
          .insertInto('voice_sessions')
          .values({
            id: newId(),
            org_id: org.org.id,
            user_id: who.user.id,
            auth_session_id: null,
            identity: who.user.id,
            room_name: `${org.org.id}__room`,
            source: 'api',
            status: 'ended',
            token_expires_at: new Date(Date.now() + 600_000),
            started_at: started,
            ended_at: new Date(started.getTime() + 60_000),
            duration_seconds: 60,
            end_reason: 'left',
          })
          .execute(),
      );
    await ended(org.member);
    await ended(org.owner);
    const list = (headers: Record<string, string>) =>
      plain.app.inject({ method: 'GET', url: '/api/voice-sessions', headers });

    // The member reads their own session, not the owner's; the owner reads the org's.
    const mine = await list(org.member.headers);
    expect(mine.statusCode, mine.body).toBe(200);
    expect(mine.json().items).toHaveLength(1);
    expect(mine.json().items[0]).toMatchObject({
      user_id: org.member.user.id,
      status: 'ended',
      duration_seconds: 60,
    });
    const all = await list(org.owner.headers);
    expect(
      all
        .json()
        .items.map((v: { user_id: string }) => v.user_id)
        .sort(),
    ).toEqual([org.member.user.id, org.owner.user.id].sort());
    // Another org's member sees none of them.
    const other = await registerUser(plain.app);
    expect((await list(bearer(other.access))).json().items).toEqual([]);
  });
});
