// What a Recording leaves behind when storage fails, and what its size limit holds: the row must
// always say what the file holds. A disk that fills mid-stream leaves a repaired, playable file
// (`interrupted`, the bytes that reached the disk) or none (`failed`, /audio 404); a file that
// cannot be created leaves a `failed` row, not a `recording` one; Opus bytes are bytes on disk.
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { withSystem } from '../db/tenant.ts';
import type { AudioStreamContext } from '../realtime/audio-stream.ts';
import { buildTestApp, type TestApp } from '../test/app.ts';
import {
  connect,
  type DeviceServer,
  event,
  ffprobe,
  framed,
  opusPackets,
  sinePcm,
  startDeviceServer,
} from '../test/audio.ts';
import { type Person, team } from '../test/org-helpers.ts';
import { createAudioStreamHandler } from './audio-stream.handler.ts';
import { OggOpusWriter, opusPacketSamples } from './ogg-opus.ts';
import { type Charge, OrgStoredBytes } from './org-storage.ts';
import { type OpenSink, Recording, type RecordingDeps } from './recording.ts';
import { sweepConversations } from './recovery.ts';
import { conversationFile } from './storage.ts';
import type { AudioFormat } from './stream-protocol.ts';

/** Paths whose open() fails with this error code (EMFILE, EIO…): a disk or process in trouble. */
const openFaults = vi.hoisted(() => new Map<string, string>());
/** Paths whose stat() fails with this error code. */
const statFaults = vi.hoisted(() => new Map<string, string>());
vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>();
  const fault = (code: string, op: string, path: string) =>
    Promise.reject(Object.assign(new Error(`${code}: ${op} '${path}'`), { code }));
  const open = ((path: string, ...rest: never[]) => {
    const code = openFaults.get(String(path));
    if (code) return fault(code, 'open', path);
    return fs.open(path, ...rest);
  }) as typeof fs.open;
  const stat = ((path: string, ...rest: never[]) => {
    const code = statFaults.get(String(path));
    if (code) return fault(code, 'stat', path);
    return fs.stat(path, ...rest);
  }) as typeof fs.stat;
  return { ...fs, open, stat, default: { ...fs, open, stat } };
});

let t: TestApp;
let member: Person;
let orgId: string;
const servers: DeviceServer[] = [];
const silent = { info() {}, warn() {}, error() {}, debug() {}, trace() {}, fatal() {} };

beforeAll(async () => {
  t = await buildTestApp();
  const tm = await team(t);
  member = tm.member;
  orgId = tm.org.id;
});
afterAll(async () => {
  for (const s of servers) await s.close();
  await t.close();
});

function context(codec: 'pcm' | 'opus', deviceName: string): AudioStreamContext {
  return {
    orgId,
    userId: member.user.id,
    deviceId: randomUUID(),
    clientId: `${member.user.id.slice(-6)}-${deviceName}`,
    deviceName,
    codec,
    signal: new AbortController().signal,
    log: { ...silent, child: () => silent, level: 'silent' } as never,
  };
}

const deps = (openSink: OpenSink): RecordingDeps => ({
  database: t.database,
  dataDir: t.config.dataDir,
  writeBufferBytes: 16 * 1024,
  openSink,
});

const PCM: AudioFormat = { codec: 'pcm', sampleRate: 16000, channels: 1, width: 2 };
const OPUS: AudioFormat = { codec: 'opus', sampleRate: 16000, channels: 1, width: 0 };

/** A disk with room for `capacity` bytes of this file: a write past it lands partly, then ENOSPC. */
class FullDisk extends Writable {
  private readonly fd: number;
  private written = 0;
  constructor(
    path: string,
    highWaterMark: number,
    private readonly capacity: number,
  ) {
    super({ highWaterMark });
    this.fd = openSync(path, 'wx');
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void) {
    const part = chunk.subarray(0, Math.max(0, this.capacity - this.written));
    if (part.length > 0) this.written += writeSync(this.fd, part);
    if (part.length < chunk.length) {
      cb(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }));
    } else cb();
  }
  override _destroy(err: Error | null, cb: (err?: Error | null) => void) {
    closeSync(this.fd);
    cb(err);
  }
}

const fullDisk =
  (capacity: number): OpenSink =>
  (path, hwm) =>
    new FullDisk(path, hwm, capacity);

/** Streams `chunks` as the handler does, until the file fails; then ends like the handler. */
async function stream(r: Recording, chunks: Buffer[]): Promise<void> {
  try {
    for (const c of chunks) if (!r.write(c)) await r.drained();
  } catch {
    // The storage failure: the handler ends the stream (1011) and finishes the conversation.
  }
  await r.finish('audio-stop');
}

const rowOf = (id: string) =>
  withSystem(t.database, (tx) =>
    tx.selectFrom('conversations').selectAll().where('id', '=', id).executeTakeFirstOrThrow(),
  );

const getAudio = (id: string) =>
  t.app.inject({ url: `/api/conversations/${id}/audio`, headers: member.headers });

/** Bytes of the two Ogg header pages (their size depends on nothing the tests vary). */
const OGG_HEADER_BYTES = new OggOpusWriter(0, 1, 16000).start().length;

describe('the disk fills mid-stream', () => {
  it('a WAV is repaired from what reached the disk: interrupted, playable, served 200', async () => {
    const pcm = sinePcm(2);
    // Room for the header and 10001 data bytes: 5000 whole frames and half of one.
    const r = await Recording.start(deps(fullDisk(44 + 10_001)), context('pcm', 'full-wav'), PCM);
    const chunks: Buffer[] = [];
    for (let at = 0; at < pcm.length; at += 3200) chunks.push(pcm.subarray(at, at + 3200));
    await stream(r, chunks);

    const row = await rowOf(r.id);
    expect(row).toMatchObject({ status: 'interrupted', end_reason: 'audio-stop; storage failed' });
    expect(Number(row.bytes)).toBe(10_000);
    expect(Number(row.duration_ms)).toBe(312);
    expect({ bytes: r.bytes, durationMs: r.durationMs }).toEqual({
      bytes: 10_000,
      durationMs: 312,
    });
    const file = readFileSync(conversationFile(t.config.dataDir, row));
    expect(file.length).toBe(44 + 10_000);
    expect(file.readUInt32LE(40)).toBe(10_000);
    expect(file.subarray(44).equals(pcm.subarray(0, 10_000))).toBe(true);

    const res = await getAudio(r.id);
    expect(res.statusCode).toBe(200);
    expect(res.rawPayload.equals(file)).toBe(true);
    const probe = await ffprobe(conversationFile(t.config.dataDir, row));
    expect(probe.duration).toBeCloseTo(0.3125, 3);
  });

  it('an Ogg file is cut after its last whole page: interrupted, with the pages on disk', async () => {
    const packets = await opusPackets(3);
    const w = new OggOpusWriter(1, 1, 16000);
    w.start();
    let firstPage = 0;
    for (const p of packets) {
      const page = w.add(p, opusPacketSamples(p) ?? 0);
      if (page) {
        firstPage = page.length;
        break;
      }
    }
    // Room for the header pages, the first audio page (1 s of audio) and part of the second.
    const capacity = OGG_HEADER_BYTES + firstPage + 100;
    const r = await Recording.start(deps(fullDisk(capacity)), context('opus', 'full-ogg'), OPUS);
    await stream(r, packets);

    const row = await rowOf(r.id);
    expect(row).toMatchObject({ status: 'interrupted', end_reason: 'audio-stop; storage failed' });
    expect(Number(row.bytes)).toBe(firstPage);
    expect(Number(row.duration_ms)).toBe(1000);
    const path = conversationFile(t.config.dataDir, row);
    expect(statSync(path).size).toBe(OGG_HEADER_BYTES + firstPage);
    expect((await getAudio(r.id)).statusCode).toBe(200);
    const probe = await ffprobe(path);
    expect(probe).toMatchObject({ codec_name: 'opus' });
    expect(probe.duration).toBeCloseTo(1, 1);
  });

  it('a file with no usable audio (its header torn) is removed: failed, and /audio 404', async () => {
    const r = await Recording.start(deps(fullDisk(20)), context('pcm', 'full-head'), PCM);
    await stream(r, [sinePcm(0.1)]);
    const row = await rowOf(r.id);
    expect(row).toMatchObject({ status: 'failed', end_reason: 'audio-stop; storage failed' });
    expect(Number(row.bytes)).toBe(0);
    expect(existsSync(conversationFile(t.config.dataDir, row))).toBe(false);
    const res = await getAudio(r.id);
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('not_found');
  });
});

describe('the file cannot be read back after the disk failed', () => {
  it('is kept and its row left recording, for the sweep: never removed and marked failed', async () => {
    // EMFILE at the salvage's open says nothing about the audio: the file (the 0.5 s that reached the
    // disk) was removed and the row finalised failed.
    const pcm = sinePcm(0.5);
    const r = await Recording.start(deps(fullDisk(44 + pcm.length)), context('pcm', 'emfile'), PCM);
    openFaults.set(r.path, 'EMFILE');
    try {
      await stream(r, [pcm, sinePcm(0.1)]);
    } finally {
      openFaults.delete(r.path);
    }
    const row = await rowOf(r.id);
    expect(row.status).toBe('recording');
    expect(row.ended_at).toBeNull();
    expect(statSync(r.path).size).toBe(44 + pcm.length);
  });

  it('the row left recording counts the bytes its writer accepted, for a sweep that cannot size the file either', async () => {
    // Only the end reason was noted: the row kept its last heartbeat's bytes, and a sweep that
    // could neither read nor stat the file counted those, less than the writer had accepted (the
    // org's storage total undercounted the kept file).
    const pcm = sinePcm(0.5);
    const more = sinePcm(0.1);
    const r = await Recording.start(
      deps(fullDisk(44 + pcm.length)),
      context('pcm', 'emfile-bytes'),
      PCM,
    );
    if (!r.write(pcm)) await r.drained();
    await r.progress(); // The last heartbeat: 0.5 s.
    openFaults.set(r.path, 'EMFILE');
    try {
      await stream(r, [more]);
    } finally {
      openFaults.delete(r.path);
    }
    const accepted = pcm.length + more.length;
    expect(r.bytes).toBe(accepted);
    const left = await rowOf(r.id);
    expect(left).toMatchObject({ status: 'recording', end_reason: 'audio-stop; storage failed' });
    expect(Number(left.bytes)).toBe(accepted);

    // Its heartbeat stale; the sweep can neither open nor stat the file (a permanent error).
    await withSystem(t.database, (tx) =>
      tx
        .updateTable('conversations')
        .set({ heartbeat_at: new Date(Date.now() - 600_000) })
        .where('id', '=', r.id)
        .execute(),
    );
    openFaults.set(r.path, 'EACCES');
    statFaults.set(r.path, 'EACCES');
    try {
      await sweepConversations(
        { database: t.database, dataDir: t.config.dataDir, log: silent as never },
        90,
      );
    } finally {
      openFaults.delete(r.path);
      statFaults.delete(r.path);
    }
    const row = await rowOf(r.id);
    expect(row).toMatchObject({
      status: 'failed',
      end_reason: 'audio-stop; storage failed: file unreadable (EACCES)',
    });
    expect(Number(row.bytes)).toBe(accepted);
  });

  it('a permanent error (EACCES) makes the row failed, naming it, and keeps the file', async () => {
    // Retrying cannot help: the row stayed `recording` (/audio 409) forever.
    const pcm = sinePcm(0.5);
    const r = await Recording.start(deps(fullDisk(44 + pcm.length)), context('pcm', 'eacces'), PCM);
    openFaults.set(r.path, 'EACCES');
    try {
      await stream(r, [pcm, sinePcm(0.1)]);
    } finally {
      openFaults.delete(r.path);
    }
    const row = await rowOf(r.id);
    expect(row).toMatchObject({
      status: 'failed',
      end_reason: 'audio-stop; storage failed: file unreadable (EACCES)',
    });
    expect(row.ended_at).not.toBeNull();
    expect(statSync(r.path).size).toBe(44 + pcm.length);
    // The kept file counts in the org's storage (it counted 0: kept files escaped the bound),
    // and so does the org storage cache's charge for it (the Recording's bytes).
    expect(Number(row.bytes)).toBe(44 + pcm.length);
    expect(r.bytes).toBe(44 + pcm.length);
  });
});

/** A disk that takes every write and fails the file's end (EIO): the failure audio-stop finds. */
class FailsAtEnd extends Writable {
  private readonly fd: number;
  constructor(path: string, highWaterMark: number) {
    super({ highWaterMark });
    this.fd = openSync(path, 'wx');
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void) {
    writeSync(this.fd, chunk);
    cb();
  }
  override _final(cb: (err?: Error | null) => void) {
    cb(Object.assign(new Error('EIO: i/o error, close'), { code: 'EIO' }));
  }
  override _destroy(err: Error | null, cb: (err?: Error | null) => void) {
    closeSync(this.fd);
    cb(err);
  }
}

describe('the file fails as audio-stop ends it, and cannot be read back', () => {
  /** Streams 0.25 s and audio-stop; the salvage's open of the file fails with `code`. */
  async function stopOnFailingDisk(deviceName: string, code: string) {
    const paths: string[] = [];
    const s = await startDeviceServer(
      createAudioStreamHandler({
        database: t.database,
        config: t.config,
        openSink: (path, hwm) => {
          paths.push(path);
          openFaults.set(path, code);
          return new FailsAtEnd(path, hwm);
        },
      }),
    );
    servers.push(s);
    const c = await connect(s.url('pcm', { orgId, userId: member.user.id, deviceName }));
    try {
      c.ws.send(event('audio-start', { rate: 16000, channels: 1, width: 2 }));
      const id = String((await c.next('audio-started')).data?.conversation_id);
      c.ws.send(sinePcm(0.25));
      c.ws.send(event('audio-stop'));
      const stopped = await c.next('audio-stopped');
      return { id, stopped, closed: c.closed, path: paths[0] ?? '' };
    } finally {
      for (const p of paths) openFaults.delete(p);
    }
  }

  it('a permanent error: the device is told the storage failed (1011), not a clean audio-stopped', async () => {
    // It got `audio-stopped` with reason audio-stop, and the socket stayed open, as if stored.
    const { id, stopped, closed, path } = await stopOnFailingDisk('stop-eacces', 'EACCES');
    const reason = 'audio-stop; storage failed: file unreadable (EACCES)';
    expect(stopped.data).toMatchObject({ conversation_id: id, reason });
    expect(await closed).toEqual({ code: 1011, reason: 'internal error' });
    const row = await rowOf(id);
    expect(row).toMatchObject({ status: 'failed', end_reason: reason });
    expect(Number(row.bytes)).toBe(statSync(path).size);
    expect(stopped.data?.bytes).toBe(Number(row.bytes));
  });

  it('a transient error: told too, and the row, left recording for the sweep, says why it ended', async () => {
    // The row kept no end reason: the sweep later wrote "recovered: the stream was never
    // finalised" over a stream the device had stopped and whose storage had failed.
    const { id, stopped, closed, path } = await stopOnFailingDisk('stop-emfile', 'EMFILE');
    expect(stopped.data).toMatchObject({
      conversation_id: id,
      reason: 'audio-stop; storage failed',
    });
    expect(await closed).toEqual({ code: 1011, reason: 'internal error' });
    const row = await rowOf(id);
    expect(row).toMatchObject({ status: 'recording', end_reason: 'audio-stop; storage failed' });
    expect(row.ended_at).toBeNull();
    expect(existsSync(path)).toBe(true);
  });
});

/** A disk that fails the first audio write (EIO) and takes until `release()` to close the file. */
class StallingDisk extends Writable {
  private readonly fd: number;
  private writes = 0;
  constructor(
    path: string,
    highWaterMark: number,
    private readonly closing: Promise<void>,
  ) {
    super({ highWaterMark });
    this.fd = openSync(path, 'wx');
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void) {
    this.writes += 1;
    if (this.writes > 1) cb(Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' }));
    else {
      writeSync(this.fd, chunk);
      cb();
    }
  }
  override _destroy(err: Error | null, cb: (err?: Error | null) => void) {
    this.closing.then(() => {
      closeSync(this.fd);
      cb(err);
    });
  }
}

describe('a salvage that takes long (a failing disk)', () => {
  it('keeps the heartbeat going until the row is final: no sweep takes it as abandoned meanwhile', async () => {
    // The heartbeat stopped before finish(): a close and salvage slower than 90 s made the row
    // look abandoned, and a sweep repaired the file while the recording was salvaging it.
    let release = () => {};
    const closing = new Promise<void>((resolve) => {
      release = resolve;
    });
    const s = await startDeviceServer(
      createAudioStreamHandler({
        database: t.database,
        config: t.config,
        heartbeatMs: 10,
        openSink: (path, hwm) => new StallingDisk(path, hwm, closing),
      }),
    );
    servers.push(s);
    const c = await connect(
      s.url('pcm', { orgId, userId: member.user.id, deviceName: 'slow-salvage' }),
    );
    c.ws.send(event('audio-start', { rate: 16000, channels: 1, width: 2 }));
    const id = String((await c.next('audio-started')).data?.conversation_id);
    c.ws.send(framed('audio-chunk', sinePcm(0.1), { rate: 16000, channels: 1, width: 2 }));
    c.ws.send(event('audio-stop'));
    // The file is failing and stuck closing: the row is still recording; its heartbeat must move.
    const first = (await rowOf(id)).heartbeat_at;
    let latest = first;
    for (let i = 0; i < 100 && latest.getTime() === first.getTime(); i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      latest = (await rowOf(id)).heartbeat_at;
    }
    const status = (await rowOf(id)).status;
    release();
    expect(status).toBe('recording');
    expect(latest.getTime()).toBeGreaterThan(first.getTime());
    let row = await rowOf(id);
    for (let i = 0; i < 200 && row.status === 'recording'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      row = await rowOf(id);
    }
    c.ws.close();
    // Only the WAV header reached the disk: a playable file of no audio.
    expect(row).toMatchObject({ status: 'interrupted', end_reason: 'audio-stop; storage failed' });
  });
});

describe('a file that cannot be created', () => {
  it('leaves a failed row, not one /audio answers 409 for until the sweep', async () => {
    const ctx = context('pcm', 'no-file');
    const refuse: OpenSink = () => {
      throw Object.assign(new Error('EACCES: permission denied, open'), { code: 'EACCES' });
    };
    await expect(Recording.start(deps(refuse), ctx, PCM)).rejects.toThrow(/EACCES/);
    const row = await withSystem(t.database, (tx) =>
      tx
        .selectFrom('conversations')
        .selectAll()
        .where('client_id', '=', ctx.clientId)
        .executeTakeFirstOrThrow(),
    );
    expect(row).toMatchObject({ status: 'failed', bytes: expect.anything() });
    expect(row.end_reason).toMatch(/storage failed/);
    expect(row.ended_at).not.toBeNull();
    expect((await getAudio(row.id)).statusCode).toBe(404);
  });
});

/** A 60 ms SILK packet of one byte: its TOC alone (config 3, code 0). */
const TINY = Buffer.from([3 << 3]);

describe('the size limit counts bytes on disk', () => {
  it('Opus: bytesAfter is exact, and a limit checked with it holds for the file', async () => {
    const max = 1024;
    const r = await Recording.start(
      deps((path, hwm) => new FullDisk(path, hwm, Number.MAX_SAFE_INTEGER)),
      context('opus', 'tiny-exact'),
      OPUS,
    );
    const packets = [...(await opusPackets(0.2)), ...Array.from({ length: 300 }, () => TINY)];
    for (const p of packets) {
      const after = r.bytesAfter(p);
      if (after > max) break;
      r.write(p);
      expect(r.bytes).toBe(after);
    }
    await r.finish('conversation too large');
    const row = await rowOf(r.id);
    const size = statSync(conversationFile(t.config.dataDir, row)).size;
    expect(Number(row.bytes)).toBe(size - OGG_HEADER_BYTES);
    expect(Number(row.bytes)).toBeLessThanOrEqual(max);
    expect(Number(row.bytes)).toBeGreaterThan(max - 64);
  });

  it('Opus over a device socket: 1024 one-byte packets under a 1024-byte limit', async () => {
    const s = await startDeviceServer(
      createAudioStreamHandler({
        database: t.database,
        config: {
          dataDir: t.config.dataDir,
          conversations: { ...t.config.conversations, maxBytes: 1024 },
        },
      }),
    );
    servers.push(s);
    const c = await connect(
      s.url('opus', { orgId, userId: member.user.id, deviceName: 'tiny-packets' }),
    );
    c.ws.send(event('audio-start', { rate: 16000, channels: 1 }));
    const id = String((await c.next('audio-started')).data?.conversation_id);
    for (let i = 0; i < 1024; i++) c.ws.send(TINY);
    c.ws.send(event('audio-stop'));
    let row = await rowOf(id);
    for (let i = 0; i < 200 && row.status === 'recording'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      row = await rowOf(id);
    }
    c.ws.close();
    expect(row).toMatchObject({ status: 'complete', end_reason: 'conversation too large' });
    const size = statSync(conversationFile(t.config.dataDir, row)).size;
    // The row's bytes are the file's (packet bytes alone said 1024 for 3797 bytes on disk).
    expect(Number(row.bytes)).toBe(size - OGG_HEADER_BYTES);
    // The handler checks the file's size after the packet (bytesAfter): page headers and lacing
    // count, so the file never passes the limit.
    expect(Number(row.bytes)).toBeLessThanOrEqual(1024);
    expect(Number(row.duration_ms)).toBeLessThan(30_000);
  });
});

describe('the org storage charge of a conversation', () => {
  it('becomes its final bytes, a plain number, once the conversation ended', async () => {
    // The charge read the Recording through a closure: the org's cache entry kept every ended
    // Recording (its sink, its Ogg writer) alive until the entry was replaced.
    const charges: Charge[] = [];
    class Spy extends OrgStoredBytes {
      override admit(orgId: string, read: () => Promise<number>, decide: (n: number) => Charge) {
        return super.admit(orgId, read, (n) => {
          const c = decide(n);
          charges.push(c);
          return c;
        });
      }
    }
    const s = await startDeviceServer(
      createAudioStreamHandler({
        database: t.database,
        config: t.config,
        orgStoredBytes: new Spy(),
      }),
    );
    servers.push(s);
    const c = await connect(s.url('pcm', { orgId, userId: member.user.id, deviceName: 'charge' }));
    c.ws.send(event('audio-start', { rate: 16000, channels: 1, width: 2 }));
    await c.next('audio-started');
    c.ws.send(sinePcm(0.25));
    c.ws.send(event('audio-stop'));
    await c.next('audio-stopped');
    c.ws.close();
    expect(charges).toHaveLength(1);
    expect(charges[0]?.bytes).toBe(sinePcm(0.25).length);
  });
});
