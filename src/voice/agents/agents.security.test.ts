// Clear-text media: an agent's media stream carries the call's audio and its stream token, so
// media_stream_url must be wss:// — ws:// only to a loopback host, and never in production. The
// same check guards create and update, answered with a 400 naming the field.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, buildTestApp, type TestApp } from '../../test/app.ts';
import { createTeam } from '../../test/factories.ts';
import { auditOf } from '../../test/org-helpers.ts';
import { create, uniqueNumber } from '../../test/twilio.ts';
import { mediaStreamUrlProblem } from './media-stream-url.ts';

let t: TestApp;
let a: Awaited<ReturnType<typeof createTeam>>;
let phoneId: string;
const who = () => as(a.owner, a.org, 'owner');

beforeAll(async () => {
  t = await buildTestApp({ headerAuth: true });
  a = await createTeam(t.database);
  phoneId = (
    await create(t.app, '/api/phones', [a.owner, a.org, 'owner'], { number: uniqueNumber() })
  ).id;
});
afterAll(() => t.close());

const createAgent = (media_stream_url: string) =>
  t.app.inject({
    method: 'POST',
    url: '/api/agents',
    headers: who(),
    payload: {
      name: 'Agent',
      direction: 'incoming',
      phone_id: phoneId,
      media_stream_url,
      active: false,
    },
  });

const CLEAR_TEXT = [
  'ws://agents.example.test/stream',
  'ws://10.0.0.5/stream',
  'ws://128.0.0.1/stream',
  'ws://localhost.example.test/stream',
  'ws://127.0.0.1.nip.io/stream',
  'ws://[::2]/stream',
];

describe('media_stream_url', () => {
  it('refuses ws:// to any non-loopback host, on create and on update, naming the field', async () => {
    for (const url of CLEAR_TEXT) {
      const res = await createAgent(url);
      expect(res.statusCode, url).toBe(400);
      expect(res.json().code).toBe('validation_failed');
      expect(res.json().errors).toEqual([
        { field: 'media_stream_url', message: expect.stringContaining('wss://') },
      ]);
    }
    const ok = await createAgent('wss://agents.example.test/stream');
    expect(ok.statusCode).toBe(201);
    const update = await t.app.inject({
      method: 'PATCH',
      url: `/api/agents/${ok.json().id}`,
      headers: who(),
      payload: { media_stream_url: 'ws://agents.example.test/stream' },
    });
    expect(update.statusCode).toBe(400);
    expect(update.json().errors[0].field).toBe('media_stream_url');
    const stored = await t.app.inject({ url: `/api/agents/${ok.json().id}`, headers: who() });
    expect(stored.json().media_stream_url).toBe('wss://agents.example.test/stream');
  });

  it('refuses credentials in the URL: every reader of the agent would see them', async () => {
    for (const url of [
      'wss://user:pass@agents.example.test/stream',
      'wss://token@agents.example.test/stream',
      'wss://:secret@agents.example.test/stream',
      'ws://user:pass@127.0.0.1:9000/s',
    ]) {
      const res = await createAgent(url);
      expect(res.statusCode, url).toBe(400);
      expect(res.json().errors, url).toEqual([
        { field: 'media_stream_url', message: expect.stringContaining('credentials') },
      ]);
      expect(res.body, url).not.toContain(url);
    }
    const ok = await createAgent('wss://agents.example.test/stream');
    const update = await t.app.inject({
      method: 'PATCH',
      url: `/api/agents/${ok.json().id}`,
      headers: who(),
      payload: { media_stream_url: 'wss://user:pass@agents.example.test/stream' },
    });
    expect(update.statusCode).toBe(400);
    expect(update.json().errors[0].field).toBe('media_stream_url');
  });

  it('allows ws:// to loopback hosts outside production (a worker on the same machine)', async () => {
    for (const url of [
      'ws://127.0.0.1:9000/s',
      'ws://127.1.2.3/s',
      'ws://localhost:8080/s',
      'ws://[::1]:9000/s',
    ]) {
      expect((await createAgent(url)).statusCode, url).toBe(201);
    }
  });

  it('refuses ws:// everywhere in production, loopback included', () => {
    for (const url of [
      'ws://127.0.0.1:9000/s',
      'ws://localhost/s',
      'ws://[::1]/s',
      ...CLEAR_TEXT,
    ]) {
      expect(mediaStreamUrlProblem(url, 'production'), url).toMatch(/wss:\/\//);
    }
    expect(mediaStreamUrlProblem('wss://agents.example.test/s', 'production')).toBeNull();
    expect(mediaStreamUrlProblem('https://agents.example.test/s', 'development')).not.toBeNull();
  });
});

describe('the audit log', () => {
  it('records an agent created, redirected and deleted, with the stream origin but not its secret', async () => {
    const created = await createAgent('wss://agents.example.test/stream?token=worker-secret');
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id as string;
    // Someone points the agent's audio elsewhere: the entry that says so is what an incident needs.
    const moved = await t.app.inject({
      method: 'PATCH',
      url: `/api/agents/${id}`,
      headers: who(),
      payload: { media_stream_url: 'wss://attacker.example.test/stream' },
    });
    expect(moved.statusCode, moved.body).toBe(200);
    const gone = await t.app.inject({ method: 'DELETE', url: `/api/agents/${id}`, headers: who() });
    expect(gone.statusCode).toBe(204);
    const trail = (await auditOf(t.database, a.org.id)).filter((e) => e.target_id === id);
    expect(trail.map((e) => [e.action, e.metadata])).toEqual([
      [
        'agent.create',
        expect.objectContaining({ media_stream_origin: 'wss://agents.example.test' }),
      ],
      [
        'agent.update',
        expect.objectContaining({
          changed: 'media_stream_url',
          media_stream_origin: 'wss://attacker.example.test',
        }),
      ],
      ['agent.delete', expect.objectContaining({ phone_id: phoneId })],
    ]);
    expect(trail.every((e) => e.actor_user_id === a.owner.id)).toBe(true);
    expect(JSON.stringify(trail)).not.toContain('worker-secret');
  });
});
