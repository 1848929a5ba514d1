// The recovery sweep: a conversation whose writer died (row still `recording`, file cut short at
// any byte) is finalised from its file, which then plays; a deleted conversation's file that
// survived the delete is removed.

import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { withSystem } from '../db/tenant.ts';
import { newId } from '../http/ids.ts';
import { buildTestApp, type TestApp } from '../test/app.ts';
import { ffprobe, opusPackets, sinePcm } from '../test/audio.ts';
import { createTeam } from '../test/factories.ts';
import { CONVERSATION_OVERHEAD_BYTES, storedAudioBytes } from './conversation.repository.ts';
import { OggOpusWriter, opusPacketSamples } from './ogg-opus.ts';
import { sweepConversations } from './recovery.ts';
import { conversationDir, conversationFile } from './storage.ts';
import { wavHeader } from './wav.ts';

/** Paths whose open() fails with this error code (EMFILE, EIO…): a disk or process in trouble. */
const openFaults = vi.hoisted(() => new Map<string, string>());
/** Paths whose unlink() fails with this error code. */
const unlinkFaults = vi.hoisted(() => new Map<string, string>());
/** Paths whose stat() fails with this error code. */
const statFaults = vi.hoisted(() => new Map<string, string>());
/** Run once when the path is next opened (before the open): another writer acting meanwhile. */
const openHooks = vi.hoisted(() => new Map<string, () => Promise<void>>());
vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>();
  const fault = (code: string, op: string, path: string) =>
    Promise.reject(Object.assign(new Error(`${code}: ${op} '${path}'`), { code }));
  const open = (async (path: string, ...rest: never[]) => {
    const hook = openHooks.get(String(path));
    if (hook) {
      openHooks.delete(String(path));
      await hook();
    }
    const code = openFaults.get(String(path));
    if (code) return fault(code, 'open', path);
    return fs.open(path, ...rest);
  }) as typeof fs.open;
  const unlink = ((path: string) => {
    const code = unlinkFaults.get(String(path));
    if (code) return fault(code, 'unlink', path);
    return fs.unlink(path);
  }) as typeof fs.unlink;
  const stat = ((path: string, ...rest: never[]) => {
    const code = statFaults.get(String(path));
    if (code) return fault(code, 'stat', path);
    return fs.stat(path, ...rest);
  }) as typeof fs.stat;
  return { ...fs, open, unlink, stat, default: { ...fs, open, unlink, stat } };
});

let t: TestApp;
let team: Awaited<ReturnType<typeof createTeam>>;
const silent = { info() {}, warn() {}, error() {}, debug() {}, trace() {}, fatal() {} } as never;

beforeAll(async () => {
  t = await buildTestApp();
  team = await createTeam(t.database);
  mkdirSync(conversationDir(t.config.dataDir, team.org.id), { recursive: true });
});
afterAll(() => t.close());

async function recordingRow(
  codec: 'pcm' | 'opus',
  heartbeatAgoSeconds = 600,
  { owner = team, bytes = 0, endReason = null as string | null } = {},
) {
  const row = {
    id: newId(),
    org_id: owner.org.id,
    user_id: owner.member.id,
    device_id: randomUUID(),
    client_id: `${owner.member.id.slice(-6)}-crash`,
    device_name: 'crash',
    codec,
    sample_rate: 16000,
    channels: 1,
    bytes,
    end_reason: endReason,
    heartbeat_at: new Date(Date.now() - heartbeatAgoSeconds * 1000),
  };
  await withSystem(t.database, (tx) => tx.insertInto('conversations').values(row).execute());
  return { ...row, path: conversationFile(t.config.dataDir, row) };
}

/** A WAV whose header still says 0 data bytes (its writer died before finalising it). */
const unfinalisedWav = (pcm: Buffer, channels = 1) =>
  Buffer.concat([wavHeader({ sampleRate: 16000, channels, width: 2 }, 0), pcm]);
/** Just the header of such a WAV: no audio at all. */
const EMPTY_WAV = wavHeader({ sampleRate: 16000, channels: 1, width: 2 }, 0);

const rowOf = (id: string) =>
  withSystem(t.database, (tx) =>
    tx.selectFrom('conversations').selectAll().where('id', '=', id).executeTakeFirstOrThrow(),
  );

const sweep = (staleSeconds: number) =>
  sweepConversations(
    { database: t.database, dataDir: t.config.dataDir, log: silent },
    staleSeconds,
  );

/**
 * One sweep with faults in place for `paths` (the error code each of open, stat or unlink fails
 * with), lifted once it has run, whatever it did.
 */
async function sweepWithFaults(
  faults: { open?: string; stat?: string; unlink?: string },
  ...paths: string[]
) {
  const set = (
    [
      [openFaults, faults.open],
      [statFaults, faults.stat],
      [unlinkFaults, faults.unlink],
    ] as const
  ).filter((f): f is readonly [Map<string, string>, string] => f[1] !== undefined);
  for (const [map, code] of set) for (const path of paths) map.set(path, code);
  try {
    return await sweep(90);
  } finally {
    for (const [map] of set) for (const path of paths) map.delete(path);
  }
}

describe('recovery sweep', () => {
  it('repairs a WAV whose header was never finalised (cut mid-sample) and marks it interrupted', async () => {
    const r = await recordingRow('pcm');
    const pcm = sinePcm(0.75);
    writeFileSync(
      r.path,
      Buffer.concat([
        wavHeader({ sampleRate: 16000, channels: 1, width: 2 }, 0),
        pcm,
        Buffer.from([1]),
      ]),
    );
    await sweep(90);
    const row = await rowOf(r.id);
    expect(row).toMatchObject({ status: 'interrupted', duration_ms: expect.anything() });
    expect(Number(row.bytes)).toBe(pcm.length);
    expect(Number(row.duration_ms)).toBe(750);
    expect(row.ended_at).not.toBeNull();
    const probe = await ffprobe(r.path);
    expect(probe).toMatchObject({ codec_name: 'pcm_s16le', sample_rate: 16000, channels: 1 });
    expect(probe.duration).toBeCloseTo(0.75, 2);
  });

  it('cuts an Ogg file after its last whole page, marks it end of stream, and it plays', async () => {
    const r = await recordingRow('opus');
    const packets = await opusPackets(2.5);
    const w = new OggOpusWriter(1234, 1, 16000);
    const parts = [w.start()];
    for (const p of packets) {
      const page = w.add(p, opusPacketSamples(p) ?? 0);
      if (page) parts.push(page);
    }
    const whole = Buffer.concat(parts);
    // A torn page at the end: half of the page that finish() would write.
    const torn = w.finish();
    writeFileSync(r.path, Buffer.concat([whole, torn.subarray(0, Math.floor(torn.length / 2))]));
    await sweep(90);
    const row = await rowOf(r.id);
    expect(row.status).toBe('interrupted');
    // Pages flush every second of audio: the two whole seconds survived.
    expect(Number(row.duration_ms)).toBe(2000);
    expect(readFileSync(r.path).length).toBe(whole.length);
    const probe = await ffprobe(r.path);
    expect(probe).toMatchObject({ codec_name: 'opus', channels: 1 });
    expect(probe.duration).toBeCloseTo(2, 1);
  });

  it('a recording row without a file becomes failed', async () => {
    const r = await recordingRow('pcm');
    await sweep(90);
    expect(await rowOf(r.id)).toMatchObject({ status: 'failed', bytes: expect.anything() });
    expect(Number((await rowOf(r.id)).bytes)).toBe(0);
  });

  it('leaves a row alone while its writer is alive (fresh heartbeat)', async () => {
    const r = await recordingRow('pcm', 5);
    writeFileSync(r.path, EMPTY_WAV);
    await sweep(90);
    expect((await rowOf(r.id)).status).toBe('recording');
    await sweep(0);
    expect((await rowOf(r.id)).status).toBe('interrupted');
  });

  it('one sweep at a time: a sweep asked for while one runs joins it', async () => {
    const r = await recordingRow('opus');
    const w = new OggOpusWriter(99, 1, 16000);
    writeFileSync(r.path, w.start());
    const first = sweep(90);
    const second = sweep(90);
    // Two sweeps at once both repaired (truncated, rewrote) the same files.
    expect(second).toBe(first);
    expect((await first).recovered).toBeGreaterThanOrEqual(1);
    expect(await rowOf(r.id)).toMatchObject({ status: 'interrupted' });
    const next = sweep(90);
    expect(next).not.toBe(first);
    await next;
  });

  it('a sweep asked for with other options runs after the one running, never joins it', async () => {
    // A staleSeconds 0 sweep joining a 90 s one answered without taking the live-looking row.
    const r = await recordingRow('pcm', 5);
    writeFileSync(r.path, EMPTY_WAV);
    const first = sweep(90);
    const all = sweep(0);
    expect(all).not.toBe(first);
    // A third asking for the same as the last waits with it.
    expect(sweep(0)).toBe(all);
    await all;
    expect((await rowOf(r.id)).status).toBe('interrupted');
    await first;
  });

  it('a file with no usable audio is removed with its row failed: /audio never serves it', async () => {
    const r = await recordingRow('pcm');
    writeFileSync(r.path, Buffer.from('RIFF'));
    await sweep(90);
    expect(await rowOf(r.id)).toMatchObject({ status: 'failed' });
    expect(existsSync(r.path)).toBe(false);
  });

  it('a file that cannot be opened (EMFILE) is kept, its row left recording; the next sweep recovers it', async () => {
    // An open that fails says nothing about the audio: the sweep removed a whole recording and
    // marked it failed.
    const r = await recordingRow('pcm');
    const wav = unfinalisedWav(sinePcm(0.5));
    writeFileSync(r.path, wav);
    for (const code of ['EMFILE', 'EIO', 'EBUSY', 'ENFILE', 'EAGAIN']) {
      await sweepWithFaults({ open: code }, r.path);
      expect((await rowOf(r.id)).status).toBe('recording');
      expect(readFileSync(r.path).equals(wav)).toBe(true);
    }
    await sweep(90);
    expect(await rowOf(r.id)).toMatchObject({ status: 'interrupted' });
    expect(Number((await rowOf(r.id)).duration_ms)).toBe(500);
  });

  it('a full batch of unreadable files does not stop the sweep reaching the rows after it', async () => {
    const stuck = [];
    for (let i = 0; i < 101; i++) stuck.push(await recordingRow('pcm', 900));
    for (const r of stuck) writeFileSync(r.path, EMPTY_WAV);
    const later = await recordingRow('pcm', 300);
    writeFileSync(later.path, EMPTY_WAV);
    // Reading the same stuck batch again and again, the sweep never returned.
    const { recovered } = await sweepWithFaults({ open: 'EMFILE' }, ...stuck.map((r) => r.path));
    expect(recovered).toBeGreaterThanOrEqual(1);
    expect((await rowOf(later.id)).status).toBe('interrupted');
    expect((await rowOf(stuck[0]?.id ?? '')).status).toBe('recording');
    await sweep(90);
    expect((await rowOf(stuck[0]?.id ?? '')).status).toBe('interrupted');
  }, 30_000);

  it('a permanent error (EACCES, EISDIR…) makes the row failed, naming it, and keeps the file', async () => {
    // Retried every minute, such a row stayed `recording` (/audio 409) forever.
    const wav = unfinalisedWav(sinePcm(0.25));
    for (const code of ['EACCES', 'EPERM', 'EROFS', 'EISDIR']) {
      const r = await recordingRow('pcm');
      writeFileSync(r.path, wav);
      await sweepWithFaults({ open: code }, r.path);
      expect(await rowOf(r.id)).toMatchObject({
        status: 'failed',
        end_reason: `recovered: file unreadable (${code})`,
      });
      expect(readFileSync(r.path).equals(wav)).toBe(true);
    }
  });

  it("a failed row whose file is kept counts the file's size in the org's stored bytes", async () => {
    // It counted 0: files kept after a disk failure escaped AUDIO_MAX_ORG_BYTES.
    const other = await createTeam(t.database);
    mkdirSync(conversationDir(t.config.dataDir, other.org.id), { recursive: true });
    const r = await recordingRow('pcm', 600, { owner: other, bytes: 3200 });
    const wav = unfinalisedWav(sinePcm(0.5));
    writeFileSync(r.path, wav);
    await sweepWithFaults({ open: 'EACCES' }, r.path);
    const row = await rowOf(r.id);
    expect(row).toMatchObject({
      status: 'failed',
      end_reason: 'recovered: file unreadable (EACCES)',
    });
    expect(Number(row.bytes)).toBe(wav.length);
    const stored = await withSystem(t.database, (tx) => storedAudioBytes(tx, other.org.id));
    expect(stored).toBe(wav.length + CONVERSATION_OVERHEAD_BYTES);
  });

  it('a kept file whose size cannot be read either counts the bytes of its last heartbeat', async () => {
    const r = await recordingRow('pcm', 600, { bytes: 3200 });
    writeFileSync(r.path, unfinalisedWav(sinePcm(0.5)));
    await sweepWithFaults({ open: 'EACCES', stat: 'EACCES' }, r.path);
    const row = await rowOf(r.id);
    expect(row).toMatchObject({
      status: 'failed',
      end_reason: 'recovered: file unreadable (EACCES)',
    });
    expect(Number(row.bytes)).toBe(3200);
  });

  it('a plain exception from the repair (a header of 0 channels) makes the row failed; file kept', async () => {
    const r = await recordingRow('pcm');
    const wav = unfinalisedWav(sinePcm(0.25), 0);
    writeFileSync(r.path, wav);
    await sweep(90);
    const row = await rowOf(r.id);
    expect(row.status).toBe('failed');
    expect(row.end_reason).toMatch(/^recovered: file unreadable \(/);
    expect(existsSync(r.path)).toBe(true);
  });

  it('a transient error is retried for 24 h after the last heartbeat, then the row is failed; file kept', async () => {
    const r = await recordingRow('pcm', 25 * 3600);
    const wav = unfinalisedWav(sinePcm(0.25));
    writeFileSync(r.path, wav);
    await sweepWithFaults({ open: 'EIO' }, r.path);
    expect(await rowOf(r.id)).toMatchObject({
      status: 'failed',
      end_reason: 'recovered: file unreadable (EIO)',
    });
    expect(readFileSync(r.path).equals(wav)).toBe(true);
  });

  it('an unusable file whose removal fails leaves the row recording until it is removed', async () => {
    // Finalised `failed` at once, the file stayed on disk for good (the purge takes deleted rows).
    const r = await recordingRow('pcm');
    writeFileSync(r.path, Buffer.from('RIFF'));
    await sweepWithFaults({ unlink: 'EBUSY' }, r.path);
    expect((await rowOf(r.id)).status).toBe('recording');
    expect(existsSync(r.path)).toBe(true);
    await sweep(90);
    expect(await rowOf(r.id)).toMatchObject({
      status: 'failed',
      end_reason: 'recovered: no usable audio file',
    });
    expect(existsSync(r.path)).toBe(false);
  });

  it('a row finalised meanwhile by its writer is not counted or logged as recovered', async () => {
    const r = await recordingRow('pcm');
    writeFileSync(r.path, EMPTY_WAV);
    openHooks.set(r.path, async () => {
      await withSystem(t.database, (tx) =>
        tx
          .updateTable('conversations')
          .set({ status: 'complete', end_reason: 'audio-stop', ended_at: new Date() })
          .where('id', '=', r.id)
          .execute(),
      );
    });
    const recovered: unknown[] = [];
    const log = {
      ...(silent as object),
      warn(obj: { conversation_id?: string }, msg: string) {
        if (msg === 'conversation recovered') recovered.push(obj.conversation_id);
      },
    } as never;
    try {
      await sweepConversations({ database: t.database, dataDir: t.config.dataDir, log }, 90);
    } finally {
      openHooks.delete(r.path);
    }
    expect(await rowOf(r.id)).toMatchObject({ status: 'complete', end_reason: 'audio-stop' });
    expect(recovered).not.toContain(r.id);
  });

  it("ended_at never precedes started_at, whatever the file's mtime (the app host's clock) says", async () => {
    // started_at is the database's clock, the file's mtime the app host's: with the host's clock
    // an hour behind, the row ended an hour before it started (a negative duration).
    const r = await recordingRow('pcm');
    writeFileSync(r.path, unfinalisedWav(sinePcm(0.25)));
    const anHourAgo = new Date(Date.now() - 3600_000);
    utimesSync(r.path, anHourAgo, anHourAgo);
    await sweep(90);
    const row = await rowOf(r.id);
    expect(row.status).toBe('interrupted');
    expect(row.ended_at?.getTime()).toBe(row.started_at.getTime());
  });

  it('ended_at is never after the finalisation (an mtime from a clock ahead of the database)', async () => {
    const r = await recordingRow('pcm');
    writeFileSync(r.path, unfinalisedWav(sinePcm(0.25)));
    const inAnHour = new Date(Date.now() + 3600_000);
    utimesSync(r.path, inAnHour, inAnHour);
    await sweep(90);
    const row = await rowOf(r.id);
    expect(row.status).toBe('interrupted');
    expect(row.ended_at?.getTime()).toBe(row.updated_at.getTime());
  });

  it('a row its writer left recording after a storage failure keeps the reason it ended', async () => {
    // The sweep wrote "recovered: the stream was never finalised" over a stream the device had
    // stopped (audio-stop) and whose storage had failed as it ended.
    const endReason = 'audio-stop; storage failed';
    const repaired = await recordingRow('pcm', 600, { endReason });
    writeFileSync(repaired.path, unfinalisedWav(sinePcm(0.25)));
    const unreadable = await recordingRow('pcm', 600, { endReason });
    writeFileSync(unreadable.path, unfinalisedWav(sinePcm(0.25)));
    const missing = await recordingRow('pcm', 600, { endReason });
    await sweepWithFaults({ open: 'EACCES' }, unreadable.path);
    expect(await rowOf(repaired.id)).toMatchObject({
      status: 'interrupted',
      end_reason: endReason,
    });
    expect(await rowOf(unreadable.id)).toMatchObject({
      status: 'failed',
      end_reason: `${endReason}: file unreadable (EACCES)`,
    });
    expect(await rowOf(missing.id)).toMatchObject({ status: 'failed', end_reason: endReason });
  });

  it('removes the file of a deleted conversation that survived its delete', async () => {
    const r = await recordingRow('pcm');
    writeFileSync(r.path, EMPTY_WAV);
    await sweep(90);
    await withSystem(t.database, (tx) =>
      tx
        .updateTable('conversations')
        .set({ deleted_at: new Date() })
        .where('id', '=', r.id)
        .execute(),
    );
    expect(existsSync(r.path)).toBe(true);
    const { purged } = await sweep(90);
    expect(purged).toBeGreaterThanOrEqual(1);
    expect(existsSync(r.path)).toBe(false);
    expect((await rowOf(r.id)).audio_purged_at).not.toBeNull();
  });
});
