// Hostile and unlucky streams, and who may see what: every protocol error closes the socket with
// a code and a reason and keeps what arrived; the limits (idle, size) and the server ending a
// socket finalise the conversation; a slow disk pauses the socket instead of buffering; members
// see only their own conversations, other orgs none (API, API keys and row-level security).
import { createWriteStream, existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Config } from '../config.ts';
import { withTenant } from '../db/tenant.ts';
import { buildTestApp, type TestApp } from '../test/app.ts';
import {
  connect,
  type DeviceServer,
  event,
  flushed,
  opusPackets,
  sinePcm,
  startDeviceServer,
} from '../test/audio.ts';
import { createOrg } from '../test/factories.ts';
import { auditOf, createKey, type Person, person, type Team, team } from '../test/org-helpers.ts';
import { createAudioStreamHandler } from './audio-stream.handler.ts';
import { storedAudioBytes } from './conversation.repository.ts';
import { OrgStoredBytes, STORED_BYTES_CACHE_MS } from './org-storage.ts';
import { conversationFile } from './storage.ts';

// The org's storage aggregate, counted: audio-start must not run it once per start.
vi.mock('./conversation.repository.ts', async (importOriginal) => {
  const repo = await importOriginal<typeof import('./conversation.repository.ts')>();
  return { ...repo, storedAudioBytes: vi.fn(repo.storedAudioBytes) };
});

let t: TestApp;
let acme: Team;
let member2: Person;
let other: Team;
const servers: DeviceServer[] = [];

beforeAll(async () => {
  t = await buildTestApp();
  acme = await team(t);
  member2 = await person(t, acme.org, 'member', 'member2');
  other = await team(t, 'Other Org');
});
afterAll(async () => {
  for (const s of servers) await s.close();
  await t.close();
});

async function serve(
  limits: Partial<Config['conversations']> = {},
  openSink?: (path: string, hwm: number) => Writable,
  startsPerMinute?: number,
  orgStoredBytes?: OrgStoredBytes,
  now?: () => number,
) {
  const config = {
    dataDir: t.config.dataDir,
    conversations: { ...t.config.conversations, ...limits },
  };
  const s = await startDeviceServer(
    createAudioStreamHandler({
      database: t.database,
      config,
      openSink,
      startsPerMinute,
      orgStoredBytes,
      now,
    }),
  );
  servers.push(s);
  return s;
}

const deviceOf = (p: Person, name: string, org: Pick<Team, 'org'> = acme) => ({
  orgId: org.org.id,
  userId: p.user.id,
  deviceName: name,
});

async function conversation(id: string, by: Person = acme.owner) {
  const res = await t.app.inject({ url: `/api/conversations/${id}`, headers: by.headers });
  return res.statusCode === 200 ? res.json() : null;
}

async function finished(id: string, by: Person = acme.owner) {
  for (let i = 0; i < 100; i++) {
    const row = await conversation(id, by);
    if (row && row.status !== 'recording') return row;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('conversation never finished');
}

/** `p`, or a rejection once `ms` passed (a socket the server should have closed and did not). */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`not within ${ms} ms`)), ms)),
  ]);
}

async function countRows(p: Person): Promise<number> {
  const res = await t.app.inject({ url: '/api/conversations?limit=100', headers: p.headers });
  expect(res.statusCode).toBe(200);
  return res.json().items.length;
}

/** Counts the times the server pauses device `name`'s socket (stops reading its connection). */
function countPauses(s: DeviceServer, name: string) {
  const socket = s.sockets.get(name)?.socket;
  if (!socket) throw new Error(`no server socket for device ${name}`);
  const paused = { count: 0, socket };
  const pause = socket.pause.bind(socket);
  socket.pause = () => {
    paused.count += 1;
    pause();
  };
  return paused;
}

/** Starts a PCM conversation on a fresh socket; returns the client and the conversation id. */
async function pcmStream(
  s: DeviceServer,
  name: string,
  p: Person = acme.member,
  org: Pick<Team, 'org'> = acme,
) {
  const c = await connect(s.url('pcm', deviceOf(p, name, org)));
  c.ws.send(event('audio-start', { rate: 16000, width: 2, channels: 1 }));
  const id = String((await c.next('audio-started')).data?.conversation_id);
  return { c, id };
}

describe('protocol errors close the socket with a reason and keep what arrived', () => {
  let s: DeviceServer;
  beforeAll(async () => {
    s = await serve();
  });

  it('audio before audio-start → 1008, and no conversation', async () => {
    const before = await countRows(acme.owner);
    const c = await connect(s.url('pcm', deviceOf(acme.member, 'early')));
    c.ws.send(sinePcm(0.1));
    expect(await c.closed).toEqual({ code: 1008, reason: 'audio before audio-start' });
    expect(await countRows(acme.owner)).toBe(before);
  });

  it.each([
    ['malformed JSON', '{"type": "audio-start", ', 1007, 'malformed JSON event header'],
    ['a header that is not an object', '[1,2]', 1007, 'event header must be a JSON object'],
    ['an unknown event type', '{"type":"transcribe"}', 1008, 'unknown event type "transcribe"'],
    [
      'a negative payload_length',
      '{"type":"audio-chunk","payload_length":-1}',
      1007,
      'payload_length must be a non-negative integer',
    ],
    [
      'audio-stop before audio-start',
      '{"type":"audio-stop"}',
      1008,
      'audio-stop before audio-start',
    ],
  ])('%s → %i', async (_what, text, code, reason) => {
    const c = await connect(s.url('pcm', deviceOf(acme.member, 'bad')));
    c.ws.send(text);
    expect(await c.closed).toEqual({ code, reason });
  });

  it('a reason quoting multi-byte text is cut whole to 123 bytes, and the stream still ends', async () => {
    // 'unknown event type "€€…"' is ~141 bytes; cut mid-character it decoded to 125 bytes, ws
    // threw, the throw escaped as an unhandled rejection and stopped the process.
    const c = await connect(s.url('pcm', deviceOf(acme.member, 'euro')));
    c.ws.send(JSON.stringify({ type: '€'.repeat(40) }));
    const closed = await c.closed;
    expect(closed.code).toBe(1008);
    expect(closed.reason).toBe(`unknown event type "${'€'.repeat(34)}`);
    expect(Buffer.byteLength(closed.reason)).toBeLessThanOrEqual(123);
  });

  it.each([
    [{ rate: 16000, width: 3, channels: 1 }, 'unsupported sample width (16-bit PCM only: 2)'],
    [{ rate: 16000, width: 2, channels: 3 }, 'unsupported channel count (1 or 2)'],
    [{ rate: 12345, width: 2, channels: 1 }, 'unsupported sample rate 12345'],
    [{ rate: 16000, channels: 1 }, 'audio-start must announce rate, width, channels'],
    [
      { rate: 16000, width: 2, channels: 1, format: 'opus' },
      'format "opus" is not pcm (this endpoint)',
    ],
  ])('audio-start %j on /ws_pcm → 1003, and no conversation', async (data, reason) => {
    const before = await countRows(acme.owner);
    const c = await connect(s.url('pcm', deviceOf(acme.member, 'fmt')));
    c.ws.send(event('audio-start', data));
    expect(await c.closed).toEqual({ code: 1003, reason });
    expect(await countRows(acme.owner)).toBe(before);
  });

  it('a payload on audio-start or audio-stop → 1008: audio travels in audio-chunk only', async () => {
    const before = await countRows(acme.owner);
    const c = await connect(s.url('pcm', deviceOf(acme.member, 'startpayload')));
    c.ws.send(event('audio-start', { rate: 16000, width: 2, channels: 1 }, 320));
    c.ws.send(sinePcm(0.01));
    expect(await c.closed).toEqual({
      code: 1008,
      reason: 'payload on audio-start (audio goes in audio-chunk)',
    });
    expect(await countRows(acme.owner)).toBe(before);

    const { c: d, id } = await pcmStream(s, 'stoppayload');
    const good = sinePcm(0.1);
    d.ws.send(good);
    d.ws.send(event('audio-stop', {}, 320));
    d.ws.send(sinePcm(0.01));
    expect(await d.closed).toEqual({
      code: 1008,
      reason: 'payload on audio-stop (audio goes in audio-chunk)',
    });
    expect(await finished(id)).toMatchObject({ status: 'complete', bytes: good.length });
  });

  it('a payload longer than its payload_length → 1007; the audio before it is kept', async () => {
    const { c, id } = await pcmStream(s, 'mismatch');
    const good = sinePcm(0.25);
    c.ws.send(good);
    c.ws.send(event('audio-chunk', {}, 100));
    c.ws.send(Buffer.alloc(150));
    const closed = await c.closed;
    expect(closed.code).toBe(1007);
    expect(closed.reason).toMatch(/^payload_length mismatch/);
    const row = await finished(id);
    expect(row).toMatchObject({ status: 'complete', bytes: good.length, duration_ms: 250 });
    expect(row.end_reason).toMatch(/payload_length mismatch/);
  });

  it('an audio-chunk announcing another format → 1003; the audio before it is kept', async () => {
    const { c, id } = await pcmStream(s, 'chunkfmt');
    const good = sinePcm(0.1);
    // Repeating the stream's own format is fine.
    c.ws.send(event('audio-chunk', { rate: 16000, width: 2, channels: 1 }, good.length));
    c.ws.send(good);
    c.ws.send(event('audio-chunk', { rate: 48000, width: 2, channels: 2 }, 400));
    c.ws.send(Buffer.alloc(400));
    const closed = await c.closed;
    expect(closed.code).toBe(1003);
    expect(closed.reason).toMatch(/^audio-chunk rate 48000 differs/);
    expect(await finished(id)).toMatchObject({ bytes: good.length, duration_ms: 100 });
  });

  it('a second audio-start inside a stream → 1008; the first conversation is finalised', async () => {
    const { c, id } = await pcmStream(s, 'twice');
    c.ws.send(sinePcm(0.1));
    c.ws.send(event('audio-start', { rate: 16000, width: 2, channels: 1 }));
    expect((await c.closed).code).toBe(1008);
    expect(await finished(id)).toMatchObject({ status: 'complete', duration_ms: 100 });
  });

  it('bytes that cannot be an Opus packet → 1007; the packets before them are kept', async () => {
    const packets = await opusPackets(0.2);
    const c = await connect(s.url('opus', deviceOf(acme.member, 'badopus')));
    c.ws.send(event('audio-start'));
    const id = String((await c.next('audio-started')).data?.conversation_id);
    for (const p of packets) c.ws.send(p);
    c.ws.send(Buffer.from([0x03, 0x00])); // code 3 with zero frames
    expect(await c.closed).toEqual({ code: 1007, reason: 'invalid Opus packet' });
    const row = await finished(id);
    expect(row.duration_ms).toBe(packets.length * 20);
  });

  it('a socket closed in the middle of an event keeps what came before it', async () => {
    const { c, id } = await pcmStream(s, 'torn');
    c.ws.send(sinePcm(0.1));
    c.ws.send(event('audio-chunk', {}, 3200));
    c.ws.send(Buffer.alloc(1000));
    await flushed(c.ws);
    c.ws.terminate();
    const row = await finished(id);
    expect(row).toMatchObject({ status: 'complete', duration_ms: 100 });
    expect(row.end_reason).toMatch(/mid-event/);
  });

  it('the device name never reaches the file system: files are named by server ids', async () => {
    const { c, id } = await pcmStream(s, '..%2F..%2Fetc');
    c.ws.send(event('audio-stop'));
    await c.next('audio-stopped');
    c.ws.close();
    const row = await conversation(id);
    const path = conversationFile(t.config.dataDir, row);
    expect(path).toBe(`${t.config.dataDir}/conversations/${acme.org.id}/${id}.wav`);
    expect(existsSync(path)).toBe(true);
  });
});

describe('limits', () => {
  it('more than AUDIO_MAX_CONVERSATION_BYTES → 1009 "conversation too large"; the rest is kept', async () => {
    const s = await serve({ maxBytes: 8000 });
    const { c, id } = await pcmStream(s, 'big');
    for (let i = 0; i < 10; i++) c.ws.send(Buffer.alloc(1000, 1));
    expect(await c.closed).toEqual({ code: 1009, reason: 'conversation too large' });
    const row = await finished(id);
    expect(row).toMatchObject({
      status: 'complete',
      bytes: 8000,
      end_reason: 'conversation too large',
    });
    expect(statSync(conversationFile(t.config.dataDir, row)).size).toBe(44 + 8000);
  });

  it('an event announcing data_length beyond 8 KiB → 1009 at its header, before any data is read', async () => {
    // 16 MiB of {"a":[{},{},…]} as an audio-chunk's data was one synchronous JSON.parse: 2.5 s of
    // the event loop every tenant shares and +339 MiB of heap, and the stream went on.
    const s = await serve();
    const { c, id } = await pcmStream(s, 'bigdata');
    const good = sinePcm(0.1);
    c.ws.send(good);
    c.ws.send(JSON.stringify({ type: 'audio-chunk', data_length: 16_000_000 }));
    expect(await within(c.closed, 5000)).toEqual({ code: 1009, reason: 'data_length too large' });
    expect(await finished(id)).toMatchObject({
      status: 'complete',
      bytes: good.length,
      end_reason: 'data_length too large',
    });
  });

  it('a message over the socket limit → 1009, recorded as "message too large (1009)"; the rest is kept', async () => {
    const s = await serve();
    const { c, id } = await pcmStream(s, 'oversized');
    c.ws.send(sinePcm(0.1));
    // The test server's maxPayload (REALTIME_MAX_FRAME_BYTES in the app) is 1 MiB.
    c.ws.send(Buffer.alloc(1_048_577));
    expect((await c.closed).code).toBe(1009);
    expect(await finished(id)).toMatchObject({
      status: 'complete',
      duration_ms: 100,
      end_reason: 'message too large (1009)',
    });
  });

  it('no frame for AUDIO_IDLE_TIMEOUT_SECONDS → 1000 "idle timeout"; the conversation is kept', async () => {
    const s = await serve({ idleTimeoutSeconds: 1 });
    const { c, id } = await pcmStream(s, 'idle');
    c.ws.send(sinePcm(0.2));
    const at = Date.now();
    expect(await c.closed).toEqual({ code: 1000, reason: 'idle timeout' });
    expect(Date.now() - at).toBeGreaterThan(700);
    expect(await finished(id)).toMatchObject({
      status: 'complete',
      duration_ms: 200,
      end_reason: 'idle timeout',
    });
  });

  it('the server ending the socket (revocation) finalises the conversation and closes 1008', async () => {
    const s = await serve();
    const { c, id } = await pcmStream(s, 'revoked');
    c.ws.send(sinePcm(0.3));
    await flushed(c.ws);
    await new Promise((r) => setTimeout(r, 50));
    s.sockets.get('revoked')?.abort.abort('session revoked');
    expect(await c.closed).toEqual({ code: 1008, reason: 'session revoked' });
    expect(await finished(id)).toMatchObject({
      status: 'complete',
      duration_ms: 300,
      end_reason: 'session revoked',
    });
  });

  it('closeAll (shutdown) ends every stream with 1001 and finalises its conversation', async () => {
    const config = { dataDir: t.config.dataDir, conversations: t.config.conversations };
    const handler = createAudioStreamHandler({ database: t.database, config });
    const s = await startDeviceServer(handler);
    servers.push(s);
    const a = await pcmStream(s, 'shut-a');
    const b = await pcmStream(s, 'shut-b');
    expect(handler.active).toBe(2);
    await handler.closeAll('server shutting down');
    expect(handler.active).toBe(0);
    for (const x of [a, b]) {
      expect(await x.c.closed).toEqual({ code: 1001, reason: 'server shutting down' });
      expect(await conversation(x.id)).toMatchObject({ status: 'complete' });
    }
  });
});

/** A file sink that takes `delayMs` per write: a disk slower than the network. */
class SlowSink extends Writable {
  maxBuffered = 0;
  private readonly file;
  constructor(
    path: string,
    highWaterMark: number,
    private readonly delayMs: number,
  ) {
    super({ highWaterMark });
    this.file = createWriteStream(path, { flags: 'wx' });
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void) {
    this.maxBuffered = Math.max(this.maxBuffered, this.writableLength);
    setTimeout(() => this.file.write(chunk, cb), this.delayMs);
  }
  override _final(cb: (err?: Error | null) => void) {
    this.file.end(cb);
  }
}

describe('backpressure', () => {
  it('a slow disk pauses the socket instead of buffering; every byte still arrives', async () => {
    const sinks: SlowSink[] = [];
    const bufferBytes = 16 * 1024;
    const s = await serve({ writeBufferBytes: bufferBytes }, (path, hwm) => {
      const sink = new SlowSink(path, hwm, 3);
      sinks.push(sink);
      return sink;
    });
    const { c, id } = await pcmStream(s, 'slow');
    const paused = countPauses(s, 'slow');
    const chunk = 8192;
    const total = 2 * 1_048_576;
    for (let sent = 0; sent < total; sent += chunk) c.ws.send(Buffer.alloc(chunk, 7));
    c.ws.send(event('audio-stop'));
    const stopped = await c.next('audio-stopped');
    expect(stopped.data?.bytes).toBe(total);
    expect(paused.count).toBeGreaterThan(0);
    // The file stream never held more than its high-water mark plus the chunk being written.
    expect(sinks[0]?.maxBuffered).toBeLessThanOrEqual(bufferBytes + chunk);
    c.ws.close();
    const row = await finished(id);
    expect(statSync(conversationFile(t.config.dataDir, row)).size).toBe(44 + total);
  }, 60_000);
});

describe('an event gathered over many messages', () => {
  it('counts in the flow control with the queue, and still completes (no pause that waits on itself)', async () => {
    // The parser holds an event until its last byte (up to 16 MiB); the flow control counted only
    // the queue, so a queue could fill to its limit on top of it.
    const bufferBytes = 128 * 1024;
    const s = await serve({ writeBufferBytes: bufferBytes });
    const { c, id } = await pcmStream(s, 'gathered');
    const paused = countPauses(s, 'gathered');
    // 48 KiB messages: one read (64 KiB) never queues more than one, so the queue alone stays
    // under 128 KiB; with the parser's bytes counted the socket pauses once it holds more.
    const piece = 48 * 1024;
    const total = 64 * piece;
    c.ws.send(event('audio-chunk', {}, total));
    for (let i = 0; i < 63; i++) c.ws.send(Buffer.alloc(piece, i));
    await flushed(c.ws);
    await new Promise((r) => setTimeout(r, 200));
    // Before the event is complete (no file write yet, so no pause for the disk): the pauses are
    // the parser's bytes counted, and the socket was resumed each time (its last bytes must come).
    expect(paused.count).toBeGreaterThan(0);
    expect(paused.socket.isPaused).toBe(false);
    c.ws.send(Buffer.alloc(piece, 63));
    c.ws.send(event('audio-stop'));
    const stopped = await within(c.next('audio-stopped'), 10_000);
    expect(stopped.data?.bytes).toBe(total);
    c.ws.close();
    expect(await finished(id)).toMatchObject({ status: 'complete', bytes: total });
  }, 30_000);
});

describe("an org's stored audio (AUDIO_MAX_ORG_BYTES)", () => {
  // Each conversation counts its audio bytes plus 4 KiB (CONVERSATION_OVERHEAD_BYTES).
  const OVERHEAD = 4096;
  let full: Team;
  let roomy: { org: Team['org']; member: Person };
  beforeAll(async () => {
    full = await team(t, 'Full Org');
    const org = await createOrg(t.database, 'Roomy Org');
    roomy = { org, member: await person(t, org, 'member') };
  });

  const filesOf = (org: Team) => {
    const dir = join(t.config.dataDir, 'conversations', org.org.id);
    return existsSync(dir) ? readdirSync(dir).length : 0;
  };

  it('bounds every conversation of the org together: a stream reaching it closes 1009, a start past it makes no row and no file, a delete frees it', async () => {
    // The org's total is read once and then cached (org-storage.ts); its clock is the test's.
    let now = 0;
    const cache = new OrgStoredBytes(STORED_BYTES_CACHE_MS, () => now);
    const aggregates = () =>
      vi.mocked(storedAudioBytes).mock.calls.filter(([, orgId]) => orgId === full.org.id).length;
    const before = aggregates();
    const s = await serve({ maxOrgBytes: 2 * OVERHEAD + 8000 }, undefined, undefined, cache);
    // 8000 + 2 overheads: the first conversation may hold 12096 bytes.
    const a = await pcmStream(s, 'org-a', full.member, full);
    a.c.ws.send(Buffer.alloc(6000, 1));
    a.c.ws.send(event('audio-stop'));
    expect((await a.c.next('audio-stopped')).data?.bytes).toBe(6000);
    a.c.ws.close();

    // Another person of the org: 16192 - (6000 + 4096) - 4096 = 2000 bytes left.
    const b = await pcmStream(s, 'org-b', full.admin, full);
    b.c.ws.send(Buffer.alloc(1500, 2));
    b.c.ws.send(Buffer.alloc(1500, 3));
    expect(await b.c.closed).toEqual({ code: 1009, reason: 'org audio storage full' });
    expect(await finished(b.id, full.owner)).toMatchObject({
      status: 'complete',
      bytes: 1500,
      end_reason: 'org audio storage full',
    });

    // Nothing left: refused before anything is written.
    const rows = await countRows(full.owner);
    const files = filesOf(full);
    expect([rows, files]).toEqual([2, 2]);
    const c = await connect(s.url('pcm', deviceOf(full.member, 'org-c', full)));
    c.ws.send(event('audio-start', { rate: 16000, width: 2, channels: 1 }));
    expect(await c.closed).toEqual({ code: 1009, reason: 'org audio storage full' });
    expect(c.messages.map((m) => m.type)).toEqual(['ready']);
    expect([await countRows(full.owner), filesOf(full)]).toEqual([rows, files]);
    // Three starts of the org, one aggregate (it was one per start): each start counted the ones
    // before it from the cache.
    expect(aggregates() - before).toBe(1);

    // Another org is not affected by this one's storage.
    const elsewhere = await pcmStream(s, 'org-other', roomy.member, roomy);
    elsewhere.c.ws.close();

    // A deleted conversation no longer counts once the cached total has expired:
    // 16192 - (1500 + 4096) - 4096 = 6500 left.
    now += STORED_BYTES_CACHE_MS;
    const del = await t.app.inject({
      method: 'DELETE',
      url: `/api/conversations/${a.id}`,
      headers: full.owner.headers,
    });
    expect(del.statusCode).toBe(204);
    const d = await pcmStream(s, 'org-d', full.member, full);
    d.c.ws.send(Buffer.alloc(6500, 4));
    d.c.ws.send(event('audio-stop'));
    expect((await d.c.next('audio-stopped')).data?.bytes).toBe(6500);
    d.c.ws.close();
  });

  it("the conversation's own limit still applies (and names itself) when the org has room", async () => {
    const s = await serve({ maxOrgBytes: 1_048_576, maxBytes: 2000 });
    const { c } = await pcmStream(s, 'own-limit', roomy.member, roomy);
    c.ws.send(Buffer.alloc(2002, 1));
    expect(await c.closed).toEqual({ code: 1009, reason: 'conversation too large' });
  });
});

describe('conversations per socket', () => {
  it('a socket looping audio-start, audio-stop is closed 1008 past its starts a minute', async () => {
    // 200 rows and files in 0.9 s from one socket, each start an aggregate, a row and a file.
    const s = await serve({}, undefined, 5);
    const name = 'looper';
    const c = await connect(s.url('pcm', deviceOf(acme.member, name)));
    for (let i = 0; i < 5; i++) {
      c.ws.send(event('audio-start', { rate: 16000, width: 2, channels: 1 }));
      c.ws.send(Buffer.alloc(1024, i));
      c.ws.send(event('audio-stop'));
    }
    c.ws.send(event('audio-start', { rate: 16000, width: 2, channels: 1 }));
    expect(await c.closed).toEqual({
      code: 1008,
      reason: 'too many conversations: at most 5 a minute per socket',
    });
    expect(c.messages.filter((m) => m.type === 'audio-started')).toHaveLength(5);
    const clientId = `${acme.member.user.id.slice(-6)}-${name}`;
    const res = await t.app.inject({
      url: `/api/conversations?client_id=${clientId}&limit=100`,
      headers: acme.owner.headers,
    });
    expect(res.json().items).toHaveLength(5);
  });

  /** `n` conversations started and stopped on `c`, each acknowledged. */
  async function startStop(c: Awaited<ReturnType<typeof connect>>, n: number) {
    const before = c.messages.filter((m) => m.type === 'audio-stopped').length;
    for (let i = 0; i < n; i++) {
      c.ws.send(event('audio-start', { rate: 16000, width: 2, channels: 1 }));
      c.ws.send(Buffer.alloc(64, i));
      c.ws.send(event('audio-stop'));
    }
    await vi.waitFor(
      () => expect(c.messages.filter((m) => m.type === 'audio-stopped')).toHaveLength(before + n),
      { timeout: 20_000 },
    );
  }

  it('at most 60 in any minute: the 61st a second after the first 60 is refused (a bucket refilled one a second let it in)', async () => {
    const s = await serve();
    const c = await connect(s.url('pcm', deviceOf(acme.member, 'burst-then-trickle')));
    await startStop(c, 60);
    await new Promise((r) => setTimeout(r, 1100));
    c.ws.send(event('audio-start', { rate: 16000, width: 2, channels: 1 }));
    expect(await c.closed).toEqual({
      code: 1008,
      reason: 'too many conversations: at most 60 a minute per socket',
    });
  });

  it('a start a full minute after the oldest of the window is let in; one a millisecond before is not', async () => {
    let clock = 1_000_000;
    const s = await serve({}, undefined, 5, undefined, () => clock);
    const early = await connect(s.url('pcm', deviceOf(acme.member, 'window-early')));
    await startStop(early, 5);
    clock += 59_999;
    early.ws.send(event('audio-start', { rate: 16000, width: 2, channels: 1 }));
    expect((await early.closed).code).toBe(1008);

    const late = await connect(s.url('pcm', deviceOf(acme.member, 'window-late')));
    for (let i = 0; i < 5; i++) {
      clock = 2_000_000 + i * 1000;
      await startStop(late, 1);
    }
    clock = 2_060_000;
    await startStop(late, 1);
    // The window moved on by one start: the next, within a minute of the 2nd (2_001_000), is not.
    late.ws.send(event('audio-start', { rate: 16000, width: 2, channels: 1 }));
    expect((await late.closed).code).toBe(1008);
  });
});

/** A file sink whose first write takes `stallMs`: a disk that stalls once. */
class StallingSink extends Writable {
  private stalled = false;
  private readonly file;
  constructor(
    path: string,
    highWaterMark: number,
    private readonly stallMs: number,
  ) {
    super({ highWaterMark });
    this.file = createWriteStream(path, { flags: 'wx' });
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void) {
    const delay = this.stalled ? 0 : this.stallMs;
    this.stalled = true;
    setTimeout(() => this.file.write(chunk, cb), delay);
  }
  override _final(cb: (err?: Error | null) => void) {
    this.file.end(cb);
  }
}

describe('a stalled disk', () => {
  it('is not the device going idle: a pause longer than the idle timeout loses nothing', async () => {
    // The server stops reading while the disk catches up; the device, still sending, had its
    // stream ended as "idle timeout" once the stall outlasted AUDIO_IDLE_TIMEOUT_SECONDS.
    const s = await serve(
      { idleTimeoutSeconds: 1, writeBufferBytes: 16 * 1024 },
      (path, hwm) => new StallingSink(path, hwm, 2500),
    );
    const { c } = await pcmStream(s, 'stall');
    const chunk = 8192;
    const total = 512 * 1024;
    for (let sent = 0; sent < total; sent += chunk) c.ws.send(Buffer.alloc(chunk, 7));
    c.ws.send(event('audio-stop'));
    const stopped = await c.next('audio-stopped');
    expect(stopped.data).toMatchObject({ bytes: total, reason: 'audio-stop' });
    c.ws.close();
  }, 30_000);
});

describe('who sees what', () => {
  let mine: string;
  let theirs: string;
  beforeAll(async () => {
    const s = await serve();
    for (const [who, name] of [
      [acme.member, 'mine'],
      [member2, 'theirs'],
    ] as const) {
      const { c, id } = await pcmStream(s, name, who);
      c.ws.send(sinePcm(0.1));
      c.ws.send(event('audio-stop'));
      await c.next('audio-stopped');
      c.ws.close();
      if (name === 'mine') mine = id;
      else theirs = id;
    }
  });

  const get = (p: Person, url: string) => t.app.inject({ url, headers: p.headers });

  it('a member sees, plays and lists only their own conversations', async () => {
    expect((await get(acme.member, `/api/conversations/${mine}`)).statusCode).toBe(200);
    expect((await get(acme.member, `/api/conversations/${mine}/audio`)).statusCode).toBe(200);
    for (const url of [`/api/conversations/${theirs}`, `/api/conversations/${theirs}/audio`]) {
      const res = await get(acme.member, url);
      expect(res.statusCode, url).toBe(404);
      expect(res.json().code).toBe('not_found');
    }
    const list = (await get(acme.member, '/api/conversations?limit=100')).json();
    expect(list.items.every((r: { user_id: string }) => r.user_id === acme.member.user.id)).toBe(
      true,
    );
    // A member cannot widen the list with someone else's user id.
    const widened = (
      await get(acme.member, `/api/conversations?user_id=${member2.user.id}`)
    ).json();
    expect(widened.items).toEqual([]);
  });

  it('owners, admins and managers see every conversation of the org and filter by user', async () => {
    for (const p of [acme.owner, acme.admin, acme.manager]) {
      expect((await get(p, `/api/conversations/${theirs}`)).statusCode).toBe(200);
      const list = (await get(p, `/api/conversations?user_id=${member2.user.id}`)).json();
      expect(list.items.map((r: { id: string }) => r.id)).toContain(theirs);
      expect(list.items.every((r: { user_id: string }) => r.user_id === member2.user.id)).toBe(
        true,
      );
    }
  });

  it('another org sees nothing: 404, and an empty list', async () => {
    for (const url of [`/api/conversations/${mine}`, `/api/conversations/${mine}/audio`]) {
      expect((await get(other.owner, url)).statusCode).toBe(404);
    }
    expect((await get(other.owner, '/api/conversations')).json().items).toEqual([]);
    const del = await t.app.inject({
      method: 'DELETE',
      url: `/api/conversations/${mine}`,
      headers: other.owner.headers,
    });
    expect(del.statusCode).toBe(404);
  });

  it("row-level security: the database itself hides other members' and orgs' rows", async () => {
    const seen = (ctx: { orgId: string; userId: string; role: 'member' | 'owner' }) =>
      withTenant(t.database, ctx, (tx) =>
        tx.selectFrom('conversations').select('id').where('id', 'in', [mine, theirs]).execute(),
      );
    const asMember = await seen({
      orgId: acme.org.id,
      userId: acme.member.user.id,
      role: 'member',
    });
    expect(asMember.map((r) => r.id)).toEqual([mine]);
    const asOther = await seen({ orgId: other.org.id, userId: other.owner.user.id, role: 'owner' });
    expect(asOther).toEqual([]);
    // Nor may a member write a row in someone else's name.
    await expect(
      withTenant(
        t.database,
        { orgId: acme.org.id, userId: acme.member.user.id, role: 'member' },
        (tx) =>
          tx
            .updateTable('conversations')
            .set({ end_reason: 'x' })
            .where('id', '=', theirs)
            .execute(),
      ),
    ).resolves.toEqual([expect.objectContaining({ numUpdatedRows: 0n })]);
  });

  it('API keys: conversations:read reads, other scopes are refused', async () => {
    const reader = await createKey(t.app, acme.owner, ['conversations:read']);
    const list = await t.app.inject({ url: '/api/conversations', headers: reader.headers });
    expect(list.statusCode).toBe(200);
    expect(list.json().items.map((r: { id: string }) => r.id)).toContain(theirs);
    const audio = await t.app.inject({
      url: `/api/conversations/${mine}/audio`,
      headers: reader.headers,
    });
    expect(audio.statusCode).toBe(200);
    const del = await t.app.inject({
      method: 'DELETE',
      url: `/api/conversations/${mine}`,
      headers: reader.headers,
    });
    expect(del.statusCode).toBe(403);
    const wrong = await createKey(t.app, acme.owner, ['calls:read']);
    const refused = await t.app.inject({ url: '/api/conversations', headers: wrong.headers });
    expect(refused.statusCode).toBe(403);
  });

  it("a member cannot delete another member's conversation; a manager can, audited, file removed", async () => {
    const denied = await t.app.inject({
      method: 'DELETE',
      url: `/api/conversations/${theirs}`,
      headers: acme.member.headers,
    });
    expect(denied.statusCode).toBe(404);
    const row = await conversation(theirs);
    const path = conversationFile(t.config.dataDir, row);
    expect(existsSync(path)).toBe(true);

    const ok = await t.app.inject({
      method: 'DELETE',
      url: `/api/conversations/${theirs}`,
      headers: acme.manager.headers,
    });
    expect(ok.statusCode).toBe(204);
    expect(existsSync(path)).toBe(false);
    expect(await conversation(theirs)).toBeNull();
    const again = await t.app.inject({
      method: 'DELETE',
      url: `/api/conversations/${theirs}`,
      headers: acme.manager.headers,
    });
    expect(again.statusCode).toBe(404);
    const audit = (await auditOf(t.database, acme.org.id)).filter(
      (a) => a.action === 'conversation.delete',
    );
    expect(audit).toEqual([
      expect.objectContaining({
        actor_user_id: acme.manager.user.id,
        target_type: 'conversation',
        target_id: theirs,
        outcome: 'success',
      }),
    ]);
  });

  it('a member deletes their own conversation', async () => {
    const res = await t.app.inject({
      method: 'DELETE',
      url: `/api/conversations/${mine}`,
      headers: acme.member.headers,
    });
    expect(res.statusCode).toBe(204);
    expect(await conversation(mine, acme.member)).toBeNull();
  });

  it('a conversation still recording cannot be downloaded yet (409)', async () => {
    const s = await serve();
    const { c, id } = await pcmStream(s, 'live');
    const res = await get(acme.member, `/api/conversations/${id}/audio`);
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('conversation_recording');
    c.ws.close();
  });
});
