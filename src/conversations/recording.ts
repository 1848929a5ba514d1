// One conversation being recorded: its row (inserted as `recording` before the file exists, so
// no file is ever without a row) and its file, written through a Writable whose write() result
// is the backpressure signal the stream handler obeys. `finish` ends the file (the WAV header's
// sizes, the Ogg end-of-stream page) and then the row, in that order: a crash between the two
// leaves a `recording` row over a whole file, which the recovery sweep finalises.
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

export interface RecordingDeps {
  database: Database;
  dataDir: string;
  writeBufferBytes: number;
  openSink: OpenSink;
}

export class Recording {
  bytes = 0;
  private readonly ogg: OggOpusWriter | null;
  private sinkError: Error | null = null;
  private finished = false;

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
    await mkdir(conversationDir(deps.dataDir, ctx.orgId), { recursive: true });
    const sink = deps.openSink(path, deps.writeBufferBytes);
    return new Recording(id, ctx, format, path, sink, deps.database);
  }

  get durationMs(): number {
    if (this.ogg) return Number(this.ogg.samples / 48n);
    return pcmDurationMs(this.format, this.bytes);
  }

  /**
   * Appends audio (PCM bytes, or one Opus packet); false when the file's buffer is full and the
   * caller must wait for `drained()` before sending more. Throws ProtocolError on a bytes that
   * cannot be an Opus packet.
   */
  write(payload: Buffer): boolean {
    if (this.sinkError) throw this.sinkError;
    if (!this.ogg) {
      this.bytes += payload.length;
      return this.sink.write(payload);
    }
    const samples = payload.length <= MAX_OPUS_PACKET_BYTES ? opusPacketSamples(payload) : null;
    if (samples === null) throw new ProtocolError(CLOSE.invalidPayload, 'invalid Opus packet');
    this.bytes += payload.length;
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

  /** Ends the file, then the row. Idempotent. */
  async finish(endReason: string): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    let status: repo.Finalisation['status'] = 'complete';
    let reason = endReason;
    try {
      await this.endFile();
    } catch (err) {
      status = 'failed';
      reason = `${endReason}; storage failed`;
      this.ctx.log.error({ err, conversation_id: this.id }, 'conversation file failed');
    }
    await withTenant(this.database, deviceTenant(this.ctx), (tx) =>
      repo.finaliseConversation(tx, this.id, {
        status,
        endReason: reason,
        bytes: this.bytes,
        durationMs: this.durationMs,
      }),
    );
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
        const whole = wholeFrameBytes(this.format, this.bytes);
        if (whole < this.bytes) await file.truncate(WAV_HEADER_BYTES + whole);
        this.bytes = whole;
        await file.write(wavHeader(this.format, this.bytes), 0, WAV_HEADER_BYTES, 0);
      } finally {
        await file.close();
      }
    }
  }
}
