// One conversation being recorded: its row (inserted as `recording` before the file exists, so
// no file is ever without a row) and its file, written through a Writable whose write() result
// is the backpressure signal the stream handler obeys. `finish` ends the file (the WAV header's
// sizes, the Ogg end-of-stream page) and then the row, in that order: a crash between the two
// leaves a `recording` row over a whole file, which the recovery sweep finalises.
//
// Invariants:
// - A row is never left `recording` by a stream that has ended: a file that cannot be created
//   finalises its row as `failed` at once (else /audio answered 409 until the sweep, 90 s on).
// - The row says what the file holds. When the disk fails mid-stream (ENOSPC, EIO) the file is
//   repaired from what reached the disk by the sweep's own `salvageAudio` (the row then
//   `interrupted` with the bytes and duration measured), or removed when it was read and nothing
//   usable is left (`failed`, /audio 404): never a WAV whose header says 0 data bytes served as
//   200. When the file cannot even be read back for a transient reason (EMFILE, EIO; the list
//   is recovery.ts's), it is kept and the row left `recording`, for the sweep to salvage once
//   its heartbeat is stale; for any other reason (EACCES, EROFS…: retrying cannot help) the row
//   becomes `failed` naming the error, and the file is still kept: an error that says nothing
//   about the audio never destroys it, and no row waits `recording` for a retry that cannot
//   succeed.
// - `bytes` is what AUDIO_MAX_CONVERSATION_BYTES limits: what the file holds once everything
//   accepted so far is written, in bytes on disk: WAV data bytes, or for Opus the Ogg pages after
//   the two header pages, page headers and lacing included (packet bytes alone let 1-byte packets
//   put almost 4 times the limit on disk). It counts bytes accepted, not yet acknowledged by the
//   disk, because the limit must hold for what the file stream still buffers too; when the disk
//   fails, the row takes the salvaged file's measure instead (above).
import { randomInt } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { Database } from '../db/database.ts';
import { withTenant } from '../db/tenant.ts';
import { newId } from '../http/ids.ts';
import type { AudioStreamContext } from '../realtime/audio-stream.ts';
import * as repo from './conversation.repository.ts';
import { MAX_OPUS_PACKET_BYTES, OggOpusWriter, opusPacketSamples } from './ogg-opus.ts';
import { type Repaired, salvageAudio, unreadableFinalisation } from './recovery.ts';
import { conversationDir, conversationFile } from './storage.ts';
import { type AudioFormat, CLOSE, ProtocolError } from './stream-protocol.ts';
import { pcmDurationMs, WAV_HEADER_BYTES, wavHeader, wholeFrameBytes } from './wav.ts';

/** Opens the file a conversation is written to (tests pass a slow one). */
export type OpenSink = (path: string, highWaterMark: number) => Writable;

export const openFileSink: OpenSink = (path, highWaterMark) =>
  createWriteStream(path, { flags: 'wx', highWaterMark });

/** The tenant context a device writes in: its user, seeing no more than a member does. */
export function deviceTenant(ctx: Pick<AudioStreamContext, 'orgId' | 'userId'>) {
  return { orgId: ctx.orgId, userId: ctx.userId, role: 'member' as const };
}

/**
 * The tenant context a device reads its org's stored audio total in (the org's storage bound).
 * Under `deviceTenant`'s member visibility its colleagues' rows are invisible and would not
 * count, so an org could hold its bound once per member. This context widens visibility to a
 * manager's within the device's own org (row-level security still confines it there). It must
 * only ever be used read-only (withTenantRead), for one aggregate that returns a number, never a
 * row: a device must not read or write its colleagues' conversations through it.
 */
export function deviceOrgReadTenant(ctx: Pick<AudioStreamContext, 'orgId' | 'userId'>) {
  return { orgId: ctx.orgId, userId: ctx.userId, role: 'manager' as const };
}

export interface RecordingDeps {
  database: Database;
  dataDir: string;
  writeBufferBytes: number;
  openSink: OpenSink;
}

export class Recording {
  /** PCM bytes accepted (WAV data); for Opus the writer counts. */
  private pcmBytes = 0;
  /** What the file held once it was salvaged after a storage failure. */
  private salvaged: Repaired | null = null;
  private readonly ogg: OggOpusWriter | null;
  private sinkError: Error | null = null;
  private finished = false;
  /**
   * Set by `finish`: why the stream ended as the row says it (`<reason>; storage failed…` when
   * the file failed), and whether the file failed (the audio was not all stored).
   */
  endReason: string | null = null;
  storageFailed = false;

  private constructor(
    readonly id: string,
    readonly ctx: AudioStreamContext,
    readonly format: AudioFormat,
    readonly path: string,
    private readonly sink: Writable,
    private readonly database: Database,
  ) {
    this.ogg =
      format.codec === 'opus'
        ? new OggOpusWriter(randomInt(0, 0xffffffff), format.channels, format.sampleRate)
        : null;
    sink.on('error', (err) => {
      this.sinkError = err;
    });
    sink.write(this.ogg ? this.ogg.start() : wavHeader(format, 0));
  }

  static async start(
    deps: RecordingDeps,
    ctx: AudioStreamContext,
    format: AudioFormat,
  ): Promise<Recording> {
    const id = newId();
    const row = {
      id,
      org_id: ctx.orgId,
      user_id: ctx.userId,
      device_id: ctx.deviceId,
      client_id: ctx.clientId,
      device_name: ctx.deviceName,
      codec: format.codec,
      sample_rate: format.sampleRate,
      channels: format.channels,
    };
    const path = conversationFile(deps.dataDir, row);
    await withTenant(deps.database, deviceTenant(ctx), (tx) => repo.insertConversation(tx, row));
    try {
      await mkdir(conversationDir(deps.dataDir, ctx.orgId), { recursive: true });
      const sink = deps.openSink(path, deps.writeBufferBytes);
      return new Recording(id, ctx, format, path, sink, deps.database);
    } catch (err) {
      // No writer will ever heartbeat this row: end it now rather than leave it `recording`.
      ctx.log.error({ err, conversation_id: id }, 'conversation file could not be created');
      await withTenant(deps.database, deviceTenant(ctx), (tx) =>
        repo.finaliseConversation(tx, id, {
          status: 'failed',
          endReason: 'storage failed: the file could not be created',
          bytes: 0,
          durationMs: 0,
        }),
      ).catch((e: unknown) =>
        ctx.log.error({ err: e, conversation_id: id }, 'conversation could not be finalised'),
      );
      throw err;
    }
  }

  /** What the size limit counts (see the top of this file), as if the stream ended now. */
  get bytes(): number {
    if (this.salvaged) return this.salvaged.bytes;
    return this.ogg ? this.ogg.audioBytes : this.pcmBytes;
  }

  /**
   * `bytes` once `payload` is written: the size limit's check, so that the file stays within it
   * (an Opus packet costs its lacing values too, and a new page its header).
   */
  bytesAfter(payload: Buffer): number {
    if (!this.ogg) return this.pcmBytes + payload.length;
    const samples = payload.length <= MAX_OPUS_PACKET_BYTES ? opusPacketSamples(payload) : null;
    // write() refuses it: it adds nothing.
    if (samples === null) return this.bytes;
    return this.ogg.audioBytesWith(payload.length, samples);
  }

  get durationMs(): number {
    if (this.salvaged) return this.salvaged.durationMs;
    if (this.ogg) return Number(this.ogg.samples / 48n);
    return pcmDurationMs(this.format, this.pcmBytes);
  }

  /**
   * Appends audio (PCM bytes, or one Opus packet); false when the file's buffer is full and the
   * caller must wait for `drained()` before sending more. Throws ProtocolError on a bytes that
   * cannot be an Opus packet.
   */
  write(payload: Buffer): boolean {
    if (this.sinkError) throw this.sinkError;
    if (!this.ogg) {
      this.pcmBytes += payload.length;
      return this.sink.write(payload);
    }
    const samples = payload.length <= MAX_OPUS_PACKET_BYTES ? opusPacketSamples(payload) : null;
    if (samples === null) throw new ProtocolError(CLOSE.invalidPayload, 'invalid Opus packet');
    const page = this.ogg.add(payload, samples);
    return page ? this.sink.write(page) : true;
  }

  /** Resolves when the file's buffer has room again; rejects when the file failed. */
  async drained(): Promise<void> {
    if (this.sinkError) throw this.sinkError;
    if (!this.sink.writableNeedDrain) return;
    await once(this.sink, 'drain');
  }

  /** A heartbeat: the row's bytes and duration so far, and proof that this writer is alive. */
  progress(): Promise<void> {
    return withTenant(this.database, deviceTenant(this.ctx), (tx) =>
      repo.recordProgress(tx, this.id, { bytes: this.bytes, durationMs: this.durationMs }),
    );
  }

  /**
   * Ends the file, then the row. Idempotent. When the file failed, what reached the disk is
   * salvaged first (the row still `recording` meanwhile, so /audio cannot serve it half-repaired)
   * and the row records what the file then holds; when the file cannot be read back for a
   * transient reason, the row is left `recording`, with why it ended, and the recovery sweep
   * salvages it later; for any other reason it becomes `failed`, its file kept. Whenever the file
   * failed, `storageFailed` is set: the stream handler tells the device (1011).
   */
  async finish(endReason: string): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    let f: repo.Finalisation;
    try {
      await this.endFile();
      f = { status: 'complete', endReason, bytes: this.bytes, durationMs: this.durationMs };
    } catch (err) {
      this.ctx.log.error({ err, conversation_id: this.id }, 'conversation file failed');
      this.storageFailed = true;
      this.endReason = `${endReason}; storage failed`;
      await this.closeSink();
      const row = {
        id: this.id,
        codec: this.format.codec,
        sample_rate: this.format.sampleRate,
        channels: this.format.channels,
      };
      const salvage = await salvageAudio(this.path, row, this.ctx.log);
      if (salvage.outcome === 'unreadable') {
        if (salvage.transient) {
          // Its file kept, its row `recording`: the sweep takes it once the heartbeat is stale,
          // and finalises it with the reason noted here (not as a stream never finalised), and,
          // if it cannot size the file either, with the bytes accepted (not the last heartbeat's).
          await withTenant(this.database, deviceTenant(this.ctx), (tx) =>
            repo.noteEndReason(tx, this.id, this.endReason ?? endReason, this.bytes),
          );
          return;
        }
        f = unreadableFinalisation(salvage, `${endReason}; storage failed: `, this.bytes);
        this.endReason = f.endReason;
        // What the kept file holds on disk: what the org's storage charge counts from now on.
        this.salvaged = { bytes: f.bytes, durationMs: 0, endedAt: new Date() };
      } else {
        this.salvaged =
          salvage.outcome === 'repaired'
            ? salvage.audio
            : { bytes: 0, durationMs: 0, endedAt: new Date() };
        f = {
          status: salvage.outcome === 'repaired' ? 'interrupted' : 'failed',
          endReason: `${endReason}; storage failed`,
          bytes: this.bytes,
          durationMs: this.durationMs,
        };
      }
    }
    this.endReason ??= f.endReason;
    await withTenant(this.database, deviceTenant(this.ctx), (tx) =>
      repo.finaliseConversation(tx, this.id, f),
    );
  }

  /** Waits until the sink has let go of the file (no write of its still in flight). */
  private async closeSink(): Promise<void> {
    if (this.sink.closed) return;
    const closed = new Promise<void>((resolve) => this.sink.once('close', () => resolve()));
    this.sink.destroy();
    await closed;
  }

  private async endFile(): Promise<void> {
    if (this.sinkError) throw this.sinkError;
    const finished = once(this.sink, 'finish');
    this.sink.end(this.ogg ? this.ogg.finish() : undefined);
    await finished;
    // A file stream closes its descriptor after 'finish'; wait, so the header write below is last.
    if (!this.sink.closed) await once(this.sink, 'close');
    if (!this.ogg) {
      const file = await open(this.path, 'r+');
      try {
        const whole = wholeFrameBytes(this.format, this.pcmBytes);
        if (whole < this.pcmBytes) await file.truncate(WAV_HEADER_BYTES + whole);
        this.pcmBytes = whole;
        await file.write(wavHeader(this.format, whole), 0, WAV_HEADER_BYTES, 0);
      } finally {
        await file.close();
      }
    }
  }
}
