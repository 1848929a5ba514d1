// Device audio end to end, through the app as wired in src/routes.ts: the gate accepts a real
// token, hands the socket to the conversation recorder, and the stored conversation is listed
// and plays back (ffprobe) through the API; a logout mid-stream closes the socket and keeps
// what arrived.
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { streamPcm } from '../../examples/device-client.ts';
import { conversationFile } from '../conversations/storage.ts';
import { buildTestApp, type TestApp } from '../test/app.ts';
import { event, ffprobe, flushed, opusPackets, sinePcm } from '../test/audio.ts';
import { type Team, team } from '../test/org-helpers.ts';

let t: TestApp;
let ws: string;
let a: Team;

beforeAll(async () => {
  t = await buildTestApp();
  ws = (await t.app.listen({ host: '127.0.0.1', port: 0 })).replace(/^http/, 'ws');
  a = await team(t, 'Device audio');
});
afterAll(() => t.close());

async function playable(id: string, headers: Record<string, string>, ext: string) {
  const res = await t.app.inject({ url: `/api/conversations/${id}/audio`, headers });
  expect(res.statusCode).toBe(200);
  const file = join(t.config.dataDir, `probe-${id}.${ext}`);
  writeFileSync(file, res.rawPayload);
  return ffprobe(file);
}

function nextMessage(socket: WebSocket): Promise<{ type: string; data: Record<string, unknown> }> {
  return new Promise((resolve) =>
    socket.once('message', (data) => resolve(JSON.parse(data.toString()))),
  );
}

describe('device audio through the wired app', () => {
  it('PCM on /ws_pcm with a bearer token becomes a listed, playable WAV conversation', async () => {
    const samples = sinePcm(1, 16000, 1);
    const result = await streamPcm({
      url: `${ws}/ws_pcm`,
      token: a.member.access,
      deviceName: 'Kitchen Mic',
      pcm: { rate: 16000, channels: 1, samples },
    });
    expect(result).toMatchObject({ bytes: samples.length, durationMs: 1000 });

    const list = await t.app.inject({ url: '/api/conversations', headers: a.member.headers });
    expect(list.statusCode).toBe(200);
    const item = list.json().items.find((c: { id: string }) => c.id === result.conversationId);
    expect(item).toMatchObject({
      client_id: `${a.member.user.id.slice(-6)}-kitchen-mic`,
      codec: 'pcm',
      status: 'complete',
    });
    const probe = await playable(result.conversationId, a.member.headers, 'wav');
    expect(probe).toMatchObject({ codec_name: 'pcm_s16le', sample_rate: 16000, channels: 1 });
    expect(probe.duration).toBeCloseTo(1, 1);

    const devices = await t.app.inject({ url: '/api/devices', headers: a.member.headers });
    expect(devices.json().items.map((d: { name: string }) => d.name)).toContain('kitchen-mic');
  });

  it('Opus packets on /ws become a playable Ogg Opus conversation', async () => {
    const packets = await opusPackets(1);
    const socket = new WebSocket(`${ws}/ws?device_name=watch`, ['bearer', a.member.access]);
    expect((await nextMessage(socket)).type).toBe('ready');
    socket.send(event('audio-start', { rate: 16000, width: 2, channels: 1 }));
    expect((await nextMessage(socket)).type).toBe('audio-started');
    for (const p of packets) socket.send(p);
    await flushed(socket);
    socket.send(event('audio-stop'));
    const stopped = await nextMessage(socket);
    expect(stopped.type).toBe('audio-stopped');
    socket.close(1000);
    const id = stopped.data.conversation_id as string;
    const probe = await playable(id, a.member.headers, 'ogg');
    expect(probe).toMatchObject({ codec_name: 'opus', channels: 1 });
    expect(probe.duration).toBeGreaterThan(0.9);
    expect(probe.duration).toBeLessThan(1.1);
  });

  it('a logout mid-stream closes the socket with 1008 and keeps what arrived', async () => {
    const me = await team(t, 'Device audio logout');
    const socket = new WebSocket(`${ws}/ws_pcm?device_name=desk`, ['bearer', me.member.access]);
    expect((await nextMessage(socket)).type).toBe('ready');
    socket.send(event('audio-start', { rate: 16000, width: 2, channels: 1 }));
    const started = await nextMessage(socket);
    expect(started.type).toBe('audio-started');
    socket.send(sinePcm(0.5));
    // Wait until the half second is on disk (the server has it) before the logout.
    const file = conversationFile(t.config.dataDir, {
      org_id: me.org.id,
      id: started.data.conversation_id as string,
      codec: 'pcm',
    });
    await expect
      .poll(() => (existsSync(file) ? statSync(file).size : 0))
      .toBeGreaterThanOrEqual(16000);
    const closed = new Promise<[number, string]>((resolve) =>
      socket.once('close', (code, reason) => resolve([code, reason.toString()])),
    );
    const out = await t.app.inject({
      method: 'POST',
      url: '/api/auth/logout',
      headers: { authorization: `Bearer ${me.member.access}` },
    });
    expect(out.statusCode).toBe(204);
    const [code, reason] = await closed;
    expect(code).toBe(1008);
    expect(reason).toMatch(/revoked|logged out|session/i);

    // The conversation is finalised with the half second that arrived (read as its owner's admin).
    await expect
      .poll(async () => {
        const list = await t.app.inject({ url: '/api/conversations', headers: me.owner.headers });
        return list.json().items[0];
      })
      .toMatchObject({ bytes: 16000, duration_ms: 500 });
  });
});
