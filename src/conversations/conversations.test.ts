// Device audio end to end: real ws clients stream PCM and Opus to the stream handler, the
// conversations API lists them and serves their files, and ffprobe confirms each file plays as
// what was sent. Who sees and deletes what is in conversations.security.test.ts.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withSystem } from '../db/tenant.ts';
import { newId } from '../http/ids.ts';
import { buildTestApp, type TestApp } from '../test/app.ts';
import {
  connect,
  type DeviceServer,
  event,
  ffprobe,
  flushed,
  framed,
  opusPackets,
  sinePcm,
  startDeviceServer,
} from '../test/audio.ts';
import { type Person, team } from '../test/org-helpers.ts';
import { createAudioStreamHandler } from './audio-stream.handler.ts';
import { OggOpusWriter } from './ogg-opus.ts';
import { conversationDir, conversationFile } from './storage.ts';
import { wavHeader } from './wav.ts';

let t: TestApp;
let server: DeviceServer;
let member: Person;
let orgId: string;

beforeAll(async () => {
  t = await buildTestApp();
  const tm = await team(t);
  member = tm.member;
  orgId = tm.org.id;
  server = await startDeviceServer(
    createAudioStreamHandler({ database: t.database, config: t.config }),
  );
});
afterAll(async () => {
  await server.close();
  await t.close();
});

const device = (name: string) => ({ orgId, userId: member.user.id, deviceName: name });

async function getJson(url: string) {
  const res = await t.app.inject({ method: 'GET', url, headers: member.headers });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

/** Downloads a conversation's audio into a file and probes it. */
async function probeAudio(id: string, ext: string) {
  const res = await t.app.inject({
    method: 'GET',
    url: `/api/conversations/${id}/audio`,
    headers: member.headers,
  });
  expect(res.statusCode).toBe(200);
  // Tenant speech: never kept in a browser's disk cache (the JSON routes' no-store too).
  expect(res.headers['cache-control']).toBe('no-store');
  const path = join(t.config.dataDir, `probe-${id}.${ext}`);
  writeFileSync(path, res.rawPayload);
  return { res, probe: await ffprobe(path) };
}

describe('device audio becomes a playable conversation', () => {
  it('a PCM stream ending inside a sample frame keeps the whole frames only, as recovery does', async () => {
    const c = await connect(server.url('pcm', device('odd-bytes')));
    c.ws.send(event('audio-start', { rate: 16000, width: 2, channels: 2 }));
    const id = String((await c.next('audio-started')).data?.conversation_id);
    const pcm = sinePcm(0.1); // 3200 bytes: 800 stereo frames of 4 bytes
    c.ws.send(Buffer.concat([pcm, Buffer.from([1, 2, 3])]));
    c.ws.send(event('audio-stop'));
    expect((await c.next('audio-stopped')).data).toMatchObject({ bytes: 3200, duration_ms: 50 });
    c.ws.close();
    const row = await getJson(`/api/conversations/${id}`);
    expect(row).toMatchObject({ status: 'complete', bytes: 3200, duration_ms: 50 });
    const file = readFileSync(conversationFile(t.config.dataDir, row));
    expect(file.length).toBe(44 + 3200);
    expect(file.readUInt32LE(40)).toBe(3200);
    expect(file.readUInt32LE(4)).toBe(36 + 3200);
  });

  it('PCM in Wyoming events (header as text, payload as the next binary message) → WAV', async () => {
    const c = await connect(server.url('pcm', device('pendant')));
    expect(c.messages[0]).toMatchObject({
      type: 'ready',
      data: { codec: 'pcm', client_id: `${member.user.id.slice(-6)}-pendant` },
    });
    c.ws.send(event('audio-start', { rate: 16000, width: 2, channels: 1 }));
    const started = await c.next('audio-started');
    const pcm = sinePcm(1.5);
    for (let at = 0; at < pcm.length; at += 3200) {
      const chunk = pcm.subarray(at, at + 3200);
      c.ws.send(event('audio-chunk', { rate: 16000, width: 2, channels: 1 }, chunk.length));
      c.ws.send(chunk);
    }
    c.ws.send(event('audio-stop'));
    const stopped = await c.next('audio-stopped');
    expect(stopped.data).toMatchObject({
      conversation_id: started.data?.conversation_id,
      bytes: pcm.length,
      duration_ms: 1500,
    });
    c.ws.close();

    const id = String(started.data?.conversation_id);
    const row = await getJson(`/api/conversations/${id}`);
    expect(row).toMatchObject({
      id,
      user_id: member.user.id,
      client_id: `${member.user.id.slice(-6)}-pendant`,
      device_name: 'pendant',
      codec: 'pcm',
      content_type: 'audio/wav',
      sample_rate: 16000,
      channels: 1,
      status: 'complete',
      end_reason: 'audio-stop',
      bytes: pcm.length,
      duration_ms: 1500,
    });
    expect(row.ended_at).not.toBeNull();

    const { res, probe } = await probeAudio(id, 'wav');
    expect(res.headers['content-type']).toBe('audio/wav');
    expect(res.headers['accept-ranges']).toBe('bytes');
    expect(probe).toMatchObject({ codec_name: 'pcm_s16le', sample_rate: 16000, channels: 1 });
    expect(probe.duration).toBeCloseTo(1.5, 2);
  });

  it('PCM stereo as raw binary frames; the socket closing without audio-stop ends it', async () => {
    const c = await connect(server.url('pcm', device('stereo')));
    c.ws.send(
      JSON.stringify({ type: 'audio-start', data: { rate: 48000, width: 2, channels: 2 } }),
    );
    const started = await c.next('audio-started');
    const pcm = sinePcm(0.5, 48000, 2);
    for (let at = 0; at < pcm.length; at += 4096) c.ws.send(pcm.subarray(at, at + 4096));
    await flushed(c.ws);
    c.ws.close(1000);
    await c.closed;
    const id = String(started.data?.conversation_id);
    let row = await getJson(`/api/conversations/${id}`);
    for (let i = 0; i < 50 && row.status === 'recording'; i++) {
      await new Promise((r) => setTimeout(r, 20));
      row = await getJson(`/api/conversations/${id}`);
    }
    expect(row).toMatchObject({ status: 'complete', bytes: pcm.length, channels: 2 });
    expect(row.end_reason).toMatch(/socket closed/);
    const { probe } = await probeAudio(id, 'wav');
    expect(probe).toMatchObject({ codec_name: 'pcm_s16le', sample_rate: 48000, channels: 2 });
    expect(probe.duration).toBeCloseTo(0.5, 2);
  });

  it('Opus packets as raw binary frames → Ogg Opus with the right duration', async () => {
    const packets = await opusPackets(2);
    const c = await connect(server.url('opus', device('omi')));
    c.ws.send(event('audio-start', { rate: 16000, channels: 1 }));
    const started = await c.next('audio-started');
    for (const p of packets) c.ws.send(p);
    c.ws.send(event('audio-stop'));
    const stopped = await c.next('audio-stopped');
    // ffmpeg's packets are 20 ms each; the last may be shorter in samples, never in the TOC.
    expect(stopped.data?.duration_ms).toBe(packets.length * 20);
    c.ws.close();

    const id = String(started.data?.conversation_id);
    const row = await getJson(`/api/conversations/${id}`);
    expect(row).toMatchObject({ codec: 'opus', content_type: 'audio/ogg', status: 'complete' });
    const { res, probe } = await probeAudio(id, 'ogg');
    // Bytes on disk after the two header pages, Ogg page headers and lacing included.
    const headerPages = new OggOpusWriter(0, 1, 16000).start().length;
    expect(row.bytes).toBe(res.rawPayload.length - headerPages);
    expect(row.bytes).toBeGreaterThan(packets.reduce((n, p) => n + p.length, 0));
    expect(res.headers['content-type']).toBe('audio/ogg');
    expect(probe).toMatchObject({ codec_name: 'opus', sample_rate: 48000, channels: 1 });
    expect(Math.abs(probe.duration - packets.length * 0.02)).toBeLessThan(0.05);
  });

  it('Opus in Wyoming events (header line and payload in one binary message), stereo', async () => {
    const packets = await opusPackets(1, 2);
    const c = await connect(server.url('opus', device('wyoming')));
    c.ws.send(framed('audio-start', Buffer.alloc(0), { rate: 48000, channels: 2 }));
    const started = await c.next('audio-started');
    for (const p of packets) c.ws.send(framed('audio-chunk', p, { rate: 48000, channels: 2 }));
    c.ws.send(framed('audio-stop', Buffer.alloc(0)));
    await c.next('audio-stopped');
    c.ws.close();
    const { probe } = await probeAudio(String(started.data?.conversation_id), 'ogg');
    expect(probe).toMatchObject({ codec_name: 'opus', channels: 2 });
    expect(Math.abs(probe.duration - packets.length * 0.02)).toBeLessThan(0.05);
  });

  it('one socket carries several conversations, one per audio-start … audio-stop', async () => {
    const c = await connect(server.url('pcm', device('multi')));
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      c.ws.send(event('audio-start', { rate: 8000, width: 2, channels: 1 }));
      ids.push(String((await c.next('audio-started')).data?.conversation_id));
      c.ws.send(sinePcm(0.25, 8000));
      c.ws.send(event('audio-stop'));
      await c.next('audio-stopped');
    }
    c.ws.close();
    expect(new Set(ids).size).toBe(2);
    const list = await getJson(`/api/conversations?client_id=${member.user.id.slice(-6)}-multi`);
    expect(list.items.map((r: { id: string }) => r.id)).toEqual([...ids].reverse());
    expect(list.items.every((r: { duration_ms: number }) => r.duration_ms === 250)).toBe(true);
  });

  it('a live conversation shows its progress while recording (heartbeat)', async () => {
    const live = await startDeviceServer(
      createAudioStreamHandler({ database: t.database, config: t.config, heartbeatMs: 50 }),
    );
    try {
      const c = await connect(live.url('pcm', device('live')));
      c.ws.send(event('audio-start', { rate: 16000, width: 2, channels: 1 }));
      const id = String((await c.next('audio-started')).data?.conversation_id);
      const pcm = sinePcm(0.5);
      c.ws.send(pcm);
      await flushed(c.ws);
      let row = await getJson(`/api/conversations/${id}`);
      for (let i = 0; i < 100 && row.bytes !== pcm.length; i++) {
        await new Promise((r) => setTimeout(r, 20));
        row = await getJson(`/api/conversations/${id}`);
      }
      expect(row).toMatchObject({ status: 'recording', bytes: pcm.length, duration_ms: 500 });
      expect(row.ended_at).toBeNull();
      c.ws.close();
    } finally {
      await live.close();
    }
  });

  it('serves byte ranges (206) and refuses ranges outside the file (416)', async () => {
    const c = await connect(server.url('pcm', device('ranges')));
    c.ws.send(event('audio-start', { rate: 16000, width: 2, channels: 1 }));
    const id = String((await c.next('audio-started')).data?.conversation_id);
    c.ws.send(sinePcm(0.1));
    c.ws.send(event('audio-stop'));
    await c.next('audio-stopped');
    c.ws.close();
    const url = `/api/conversations/${id}/audio`;
    const whole = await t.app.inject({ method: 'GET', url, headers: member.headers });
    const part = await t.app.inject({
      method: 'GET',
      url,
      headers: { ...member.headers, range: 'bytes=40-99' },
    });
    expect(part.statusCode).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 40-99/${whole.rawPayload.length}`);
    expect(part.rawPayload.equals(whole.rawPayload.subarray(40, 100))).toBe(true);
    const tail = await t.app.inject({
      method: 'GET',
      url,
      headers: { ...member.headers, range: 'bytes=-10' },
    });
    expect(tail.rawPayload.equals(whole.rawPayload.subarray(-10))).toBe(true);
    const outside = await t.app.inject({
      method: 'GET',
      url,
      headers: { ...member.headers, range: `bytes=${whole.rawPayload.length}-` },
    });
    expect(outside.statusCode).toBe(416);
    expect(outside.json().code).toBe('range_not_satisfiable');
    expect(outside.headers['content-range']).toBe(`bytes */${whole.rawPayload.length}`);
  });

  it('lists with filters: device, status, date range', async () => {
    const all = await getJson('/api/conversations?limit=100');
    expect(all.items.length).toBeGreaterThanOrEqual(6);
    const future = await getJson(
      `/api/conversations?since=${new Date(Date.now() + 60_000).toISOString()}`,
    );
    expect(future.items).toEqual([]);
    const past = await getJson(
      `/api/conversations?until=${new Date(Date.now() + 60_000).toISOString()}&status=complete&limit=2`,
    );
    expect(past.items).toHaveLength(2);
    expect(past.next_cursor).toBeTruthy();
    const more = await getJson(`/api/conversations?limit=2&cursor=${past.next_cursor}`);
    expect(more.items[0].id < past.items[1].id).toBe(true);
    const one = all.items[0];
    const byDevice = await getJson(`/api/conversations?device_id=${one.device_id}`);
    expect(byDevice.items.map((r: { id: string }) => r.id)).toEqual([one.id]);
  });
});

/** A finished PCM conversation of the member's, written straight to the database and disk. */
async function storedConversation(dataBytes = 3200) {
  const row = {
    id: newId(),
    org_id: orgId,
    user_id: member.user.id,
    device_id: crypto.randomUUID(),
    client_id: `${member.user.id.slice(-6)}-stored`,
    device_name: 'stored',
    codec: 'pcm' as const,
    sample_rate: 16000,
    channels: 1,
    status: 'complete' as const,
    bytes: dataBytes,
    ended_at: new Date(),
  };
  await withSystem(t.database, (tx) => tx.insertInto('conversations').values(row).execute());
  mkdirSync(conversationDir(t.config.dataDir, orgId), { recursive: true });
  const pcm = Buffer.alloc(dataBytes, 3);
  const file = Buffer.concat([
    wavHeader({ sampleRate: 16000, channels: 1, width: 2 }, pcm.length),
    pcm,
  ]);
  writeFileSync(conversationFile(t.config.dataDir, row), file);
  return { id: row.id, file };
}

const openFds = () => readdirSync('/proc/self/fd').length;

describe('serving a file that a delete removes at the same time', () => {
  it('concurrent downloads and a delete answer 200 (the whole file) or 404, never 500', async () => {
    // The file used to be checked (stat) in the service and opened later in the route: a delete
    // or the sweep's purge unlinking it in between gave ENOENT → 500.
    const statuses: number[] = [];
    for (let round = 0; round < 30; round++) {
      const { id, file } = await storedConversation(32_000);
      const url = `/api/conversations/${id}/audio`;
      const get = () => t.app.inject({ method: 'GET', url, headers: member.headers });
      const del = t.app.inject({
        method: 'DELETE',
        url: `/api/conversations/${id}`,
        headers: member.headers,
      });
      const answers = await Promise.all([get(), get(), del, get()]);
      expect(answers[2]?.statusCode).toBe(204);
      for (const res of [answers[0], answers[1], answers[3]]) {
        statuses.push(res?.statusCode ?? 0);
        if (res?.statusCode === 200) expect(res.rawPayload.equals(file)).toBe(true);
        else expect(res?.json()).toMatchObject({ status: 404, code: 'not_found' });
      }
    }
    expect(statuses.filter((s) => s !== 200 && s !== 404)).toEqual([]);
  });

  it('HEAD, 416 and 206 answers close the file they opened', async () => {
    const { id, file } = await storedConversation();
    const url = `/api/conversations/${id}/audio`;
    const request = (method: 'GET' | 'HEAD', range?: string) =>
      t.app.inject({ method, url, headers: { ...member.headers, ...(range ? { range } : {}) } });
    await request('HEAD');
    const before = openFds();
    for (let i = 0; i < 20; i++) {
      const head = await request('HEAD');
      expect(head.statusCode).toBe(200);
      expect(head.headers['content-length']).toBe(String(file.length));
      expect(head.rawPayload.length).toBe(0);
      expect((await request('GET', `bytes=${file.length}-`)).statusCode).toBe(416);
      const part = await request('GET', 'bytes=0-9');
      expect(part.statusCode).toBe(206);
      expect(part.rawPayload.equals(file.subarray(0, 10))).toBe(true);
    }
    // A leak would hold 20 descriptors or more.
    expect(openFds() - before).toBeLessThan(5);
  });
});
