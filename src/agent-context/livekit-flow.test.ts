// The source document's flow end to end, against the fake LiveKit server (the real SDK on both
// sides): sign up → a LiveKit token for a room → the participant joins (participant_joined,
// signed by the fake and verified by the app) → the agent worker (examples/agent-context.ts,
// with its own API key, over real HTTP) reads the participant's context, the live session in it →
// the worker remembers a preference, and the next token's metadata carries the new digest → the
// participant leaves (participant_left) → the session is listed ended with its duration, in the
// context, the voice-session list and the voice-session analytics.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadParticipantContext, rememberPreference } from '../../examples/agent-context.ts';
import { bearer, registerUser } from '../test/auth-helpers.ts';
import {
  type LiveKitTestApp,
  requestRoomToken,
  startLiveKitTestApp,
  verifyRoomToken,
} from '../test/livekit-helpers.ts';
import { createKey } from '../test/org-helpers.ts';
import { digestOf } from '../users/preferences.ts';

let lk: LiveKitTestApp;
let url: string;

beforeAll(async () => {
  lk = await startLiveKitTestApp();
  url = await lk.t.app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(() => lk.close());

describe('register → token → joined → agent context → preference → left → listed', () => {
  it('walks the document’s flow', async () => {
    const { t, fake } = lk;

    // Sign-up answers a LiveKit token for the personal room (the document's contract).
    const u = await registerUser(t.app, { full_name: 'Ada Lovelace', company_name: 'Analytical' });
    expect(u.res.json().livekit_token).toEqual(expect.any(String));
    const signUpClaims = await verifyRoomToken(fake, u.res.json().livekit_token);
    expect(JSON.parse(signUpClaims.metadata ?? '{}').preferences_digest).toBeNull();

    // The document's token path, for a named room.
    const tokenRes = await requestRoomToken(
      t.app,
      bearer(u.access),
      { room_name: 'support' },
      '/auth/token',
    );
    expect(tokenRes.statusCode, tokenRes.body).toBe(200);
    const room = tokenRes.json();
    expect(room.room_name).toBe(`${u.orgId}__support`);

    // The participant joins: the fake verifies the token and sends participant_joined.
    const participant = await fake.join(room.livekit_token);
    expect(participant.identity).toBe(u.userId);
    expect(fake.deliveries.at(-1)).toMatchObject({ event: 'participant_joined', status: 200 });

    // The agent worker, with its own key, loads the participant's context by identity.
    const key = (
      await createKey(t.app, { headers: bearer(u.access) }, ['agent:context', 'agent:preferences'])
    ).key;
    const before = await loadParticipantContext(url, key, participant.identity);
    expect(before).toMatchObject({
      identity: u.userId,
      user: { id: u.userId, full_name: 'Ada Lovelace' },
      org: { id: u.orgId, name: 'Analytical' },
      role: 'owner',
      preferences: {},
      preferences_digest: null,
    });
    expect(before.voice_sessions[0]).toMatchObject({ id: room.session_id, status: 'active' });

    // "Remember that I prefer French": the worker's tool writes one preference.
    const written = await rememberPreference(url, key, participant.identity, 'language', 'fr');
    expect(written.preferences).toEqual({ language: 'fr' });
    expect(written.preferences_digest).toBe(digestOf({ language: 'fr' }));
    const next = await requestRoomToken(t.app, bearer(u.access), { room_name: 'support' });
    const nextClaims = await verifyRoomToken(fake, next.json().livekit_token);
    expect(JSON.parse(nextClaims.metadata ?? '{}').preferences_digest).toBe(
      written.preferences_digest,
    );
    const mine = await t.app.inject({
      url: '/api/users/me/preferences',
      headers: bearer(u.access),
    });
    expect(mine.json().preferences).toEqual({ language: 'fr' });

    // The participant leaves 90 s after joining (LiveKit's event time).
    const status = await fake.send({
      event: 'participant_left',
      createdAt: BigInt(participant.joinedAt + 90),
      room: { name: room.room_name, sid: 'RM_flow' } as never,
      participant: { identity: participant.identity, attributes: participant.attributes } as never,
    });
    expect(status).toBe(200);

    // Listed ended, with its duration: the voice-session list, the context, the analytics.
    const list = await t.app.inject({
      url: `/api/voice-sessions?room_name=support&status=ended`,
      headers: bearer(u.access),
    });
    expect(list.statusCode).toBe(200);
    expect(list.json().items).toEqual([
      expect.objectContaining({
        id: room.session_id,
        status: 'ended',
        end_reason: 'left',
        duration_seconds: 90,
        identity: u.userId,
      }),
    ]);
    const after = await loadParticipantContext(url, key, participant.identity);
    expect(after.voice_sessions.find((v) => v.id === room.session_id)).toMatchObject({
      status: 'ended',
      duration_seconds: 90,
    });
    const stats = await t.app.inject({
      url: '/api/analytics/voice-sessions',
      headers: bearer(u.access),
    });
    expect(stats.statusCode).toBe(200);
    const day = new Date(participant.joinedAt * 1000).toISOString().slice(0, 10);
    expect(stats.json().days.find((d: { date: string }) => d.date === day)).toEqual({
      date: day,
      sessions: 1,
      total_duration_seconds: 90,
      minutes: 1.5,
    });
    expect(stats.json().users).toEqual([
      {
        user_id: u.userId,
        full_name: 'Ada Lovelace',
        sessions: 1,
        total_duration_seconds: 90,
        minutes: 1.5,
      },
    ]);
  });
});
