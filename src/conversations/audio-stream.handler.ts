// Everything after a device socket is accepted (the realtime capability authenticates /ws and
// /ws_pcm and hands the socket over): the stream protocol, one conversation per audio-start …
// audio-stop (or the socket's end), the limits, and flow control.
//
// Invariants:
// - Messages are handled one at a time, in order, by one loop (`pump`); the socket's events only
//   queue them. Nothing is dropped except after the stream has ended.
// - Memory is bounded: the socket is paused (no more reads from its TCP connection) while the
//   queue and the event the parser is gathering hold more than AUDIO_WRITE_BUFFER_BYTES or the
//   file is waiting to drain, and resumed when both have room again.
// - Disk is bounded per conversation (AUDIO_MAX_CONVERSATION_BYTES) and per org
//   (AUDIO_MAX_ORG_BYTES, each conversation counted with its overhead), and a socket starts at
//   most `startsPerMinute` conversations: nothing a device sends makes the server create rows and
//   files without bound.
// - Every way a stream ends (audio-stop, the client closing, a protocol error, the idle timeout,
//   the size limit, the server ending the socket, a storage failure) finalises the conversation
//   first, then closes the socket with a code and a short reason. What arrived is kept.
import type { Writable } from 'node:stream';
import type { RawData, WebSocket } from 'ws';
import type { Config } from '../config.ts';
import type { Database } from '../db/database.ts';
import { withTenantRead } from '../db/tenant.ts';
import type { AudioStreamContext, AudioStreamHandler } from '../realtime/audio-stream.ts';
import { closeReason } from '../realtime/close-reason.ts';
import { CONVERSATION_OVERHEAD_BYTES, storedAudioBytes } from './conversation.repository.ts';
import { type Charge, OrgStoredBytes } from './org-storage.ts';
import { deviceOrgReadTenant, type OpenSink, openFileSink, Recording } from './recording.ts';
import {
  assertChunkFormat,
  audioFormat,
  CLOSE,
  ProtocolError,
  StreamParser,
  socketFailureReason,
} from './stream-protocol.ts';

export interface AudioStreamDeps {
  database: Database;
  config: Pick<Readonly<Config>, 'dataDir' | 'conversations'>;
  /** Opens a conversation's file; tests pass a deliberately slow sink. */
  openSink?: (path: string, highWaterMark: number) => Writable;
  /** How often a live conversation's row is refreshed (bytes, heartbeat). */
  heartbeatMs?: number;
  /** Conversations one socket may start a minute (STARTS_PER_MINUTE); tests pass fewer. */
  startsPerMinute?: number;
  /** The clock of the starts' window (ms since the epoch); tests pass their own. */
  now?: () => number;
  /** The per-org cache of stored bytes (org-storage.ts); tests pass one with their own clock. */
  orgStoredBytes?: OrgStoredBytes;
}

export interface AudioStreams extends AudioStreamHandler {
  /** Streams being handled right now. */
  readonly active: number;
  /** Ends every stream (finalising its conversation) and waits for them: at shutdown. */
  closeAll(reason: string): Promise<void>;
}

/** A live conversation's row is refreshed this often; the recovery sweep trusts it for 3 times. */
export const HEARTBEAT_MS = 30_000;

/**
 * Conversations one socket may start in any 60 s: the 61st start within 60 s of the first of the
 * last 60 closes the socket (1008). A window, not a bucket refilled evenly: a bucket of 60 let a
 * socket start its 60 at once and one a second after them, ~120 in the first minute. Each start costs an aggregate, a
 * row, a file and a finalisation: a device looping audio-start, audio-stop made 200 of them in
 * 0.9 s. The org's storage bound (which counts every conversation's overhead) bounds the disk;
 * this bounds the rate at which one socket spends it, and the database work. A device that
 * segments speech starts one every few seconds at most.
 */
export const STARTS_PER_MINUTE = 60;

type Item = { data: Buffer; isBinary: boolean } | { end: string };

/** The close reason (1009) for an org whose conversations hold AUDIO_MAX_ORG_BYTES. */
export const ORG_FULL = 'org audio storage full';

interface Ending {
  reason: string;
  /** Close the socket with this code (if it is still open); none when the client closed it. */
  code?: number;
  /**
   * Write what was already received before ending (revocation, idle, shutdown): the audio a
   * device sent while its credential was good is kept. Protocol errors end at once instead:
   * nothing after a bad frame is trusted.
   */
  drain?: boolean;
}

/**
 * What a queued message costs beyond its bytes (its Buffer and queue entry): counted with them, so
 * a flood of empty or one-byte messages while the disk is slow pauses the socket like bytes do.
 */
const MESSAGE_OVERHEAD_BYTES = 128;

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

function send(socket: WebSocket, message: unknown): void {
  if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
}

function closeSocket(socket: WebSocket, code: number, reason: string): void {
  if (socket.readyState === socket.OPEN || socket.readyState === socket.CONNECTING) {
    socket.close(code, closeReason(reason));
  }
}

export function createAudioStreamHandler(deps: AudioStreamDeps): AudioStreams {
  const limits = deps.config.conversations;
  const recordingDeps = {
    database: deps.database,
    dataDir: deps.config.dataDir,
    writeBufferBytes: limits.writeBufferBytes,
    openSink: (deps.openSink ?? openFileSink) as OpenSink,
  };
  const heartbeatMs = deps.heartbeatMs ?? HEARTBEAT_MS;
  const startsPerMinute = deps.startsPerMinute ?? STARTS_PER_MINUTE;
  const clock = deps.now ?? Date.now;
  const storedBytes = deps.orgStoredBytes ?? new OrgStoredBytes();

  /** The storage one org's conversations hold, read across the whole org (see the context). */
  function orgStoredBytes(ctx: AudioStreamContext): Promise<number> {
    return withTenantRead(deps.database, deviceOrgReadTenant(ctx), (tx) =>
      storedAudioBytes(tx, ctx.orgId),
    );
  }

  const sessions = new Map<WebSocket, { stop(reason: string): void; done: Promise<void> }>();

  function handle(socket: WebSocket, ctx: AudioStreamContext): void {
    const parser = new StreamParser();
    const queue: Item[] = [];
    let queuedBytes = 0;
    let waitingForDisk = false;
    let pumping = false;
    let ended = false;
    let ending: Ending | null = null;
    let recording: Recording | null = null;
    /** The org storage cache's charge for `recording` (org-storage.ts). */
    let recordingCharge: Charge | null = null;
    /** What the open conversation may hold, and the close reason for passing it. */
    let allowance = { bytes: 0, reason: '' };
    /** When this socket's last `startsPerMinute` conversations started, oldest first (ms). */
    const starts: number[] = [];
    let heartbeat: NodeJS.Timeout | null = null;
    let resolveDone: () => void = () => {};
    const done = new Promise<void>((resolve) => {
      resolveDone = resolve;
    });

    const flow = () => {
      // What this stream holds in memory: the queued messages and the event the parser is
      // gathering (up to the 16 MiB its header may announce), counted together. Only a queue can
      // be waited on: with an empty queue the parser's event needs the bytes still unread, and a
      // pause would wait for them forever.
      const held = queuedBytes + parser.heldBytes;
      const pause =
        !ended && (waitingForDisk || (queue.length > 0 && held > limits.writeBufferBytes));
      if (pause && !socket.isPaused) socket.pause();
      else if (!pause && socket.isPaused) socket.resume();
    };

    // Idle is the device's silence. While the socket is paused (the disk or the queue is behind)
    // the server is the one not reading: a device still sending saw its stream ended as idle,
    // and what it sent meanwhile lost, whenever a disk stall outlasted the timeout.
    const idle = setTimeout(function idleTimeout() {
      if (socket.isPaused && !ended && !ending) idle.refresh();
      else stop({ reason: 'idle timeout', code: CLOSE.normal, drain: true });
    }, limits.idleTimeoutSeconds * 1000);
    idle.unref();

    /**
     * Runs the pump; nothing it throws may escape as an unhandled rejection (which stops the
     * process): the socket is cut instead.
     */
    function kick(): void {
      pump().catch((err) => {
        ctx.log.error({ err }, 'device stream failed');
        socket.terminate();
      });
    }

    /** Ends the stream after the message being handled (or at once when none is). */
    function stop(e: Ending): void {
      if (ended || ending) return;
      ending = e;
      kick();
    }

    const onAbort = () => {
      const r: unknown = ctx.signal.reason;
      const reason = (
        typeof r === 'string' && r ? r : r instanceof Error ? r.message : 'server ended the stream'
      ).slice(0, 100);
      // The realtime capability closes the socket itself with its own code right after aborting;
      // close it here only if it has not.
      stop({ reason, drain: true });
      setImmediate(() => closeSocket(socket, CLOSE.policy, reason));
    };
    if (ctx.signal.aborted) {
      onAbort();
    } else {
      ctx.signal.addEventListener('abort', onAbort, { once: true });
    }

    socket.on('message', (data, isBinary) => {
      if (ended || ending) return;
      const buf = toBuffer(data);
      idle.refresh();
      queue.push({ data: buf, isBinary });
      queuedBytes += buf.length + MESSAGE_OVERHEAD_BYTES;
      flow();
      kick();
    });
    let failure: string | undefined;
    socket.on('close', (code) => {
      queue.push({ end: failure ?? `socket closed (${code})` });
      kick();
    });
    socket.on('error', (err) => {
      failure ??= socketFailureReason(err);
      ctx.log.warn({ err }, 'device socket error');
    });

    async function startRecording(data: Record<string, unknown>): Promise<void> {
      if (recording) {
        throw new ProtocolError(
          CLOSE.policy,
          'audio-start while a stream is open; send audio-stop',
        );
      }
      const format = audioFormat(ctx.codec, data);
      const now = clock();
      // Full, and its oldest start less than a minute ago: this one would be one too many.
      if (starts.length >= startsPerMinute && now - (starts[0] ?? now) < 60_000) {
        throw new ProtocolError(
          CLOSE.policy,
          `too many conversations: at most ${startsPerMinute} a minute per socket`,
        );
      }
      starts.push(now);
      if (starts.length > startsPerMinute) starts.shift();
      // The org's storage bound, checked before anything is written: a start with nothing left
      // makes no row and no file. The conversation may then hold the smaller of its own limit and
      // what the org has left (after its own overhead). The total is read from the database at
      // most every few seconds per org (org-storage.ts), counting what this instance started
      // since; what it misses — a live row counts the bytes of its last heartbeat, other
      // instances' starts and the growth of streams live at the read are unseen for those few
      // seconds — is each a stream running at once or within those seconds, so together they may
      // pass the bound by at most what each was allowed at its start: at most
      // AUDIO_MAX_CONVERSATION_BYTES per stream of the org running at once or in the last
      // STORED_BYTES_CACHE_MS.
      const charge: Charge = { bytes: 0 };
      await storedBytes.admit(
        ctx.orgId,
        () => orgStoredBytes(ctx),
        (stored) => {
          const left = limits.maxOrgBytes - stored - CONVERSATION_OVERHEAD_BYTES;
          if (left <= 0) throw new ProtocolError(CLOSE.tooBig, ORG_FULL);
          allowance =
            left < limits.maxBytes
              ? { bytes: left, reason: ORG_FULL }
              : { bytes: limits.maxBytes, reason: 'conversation too large' };
          return charge;
        },
      );
      recording = await Recording.start(recordingDeps, ctx, format);
      const r = recording;
      charge.bytes = () => r.bytes;
      // At finish it becomes its final number (finishRecording): the cache keeps no ended Recording.
      recordingCharge = charge;
      heartbeat = setInterval(() => {
        r.progress().catch((err) => ctx.log.warn({ err }, 'conversation heartbeat failed'));
      }, heartbeatMs);
      heartbeat.unref();
      ctx.log.info({ conversation_id: r.id, codec: format.codec }, 'conversation started');
      send(socket, { type: 'audio-started', data: { conversation_id: r.id } });
    }

    /**
     * Ends the open conversation (if any) and tells the device (`audio-stopped`, with the row's
     * end reason: `<reason>; storage failed…` when the file failed). False when the file failed:
     * the audio was not all stored.
     */
    async function finishRecording(reason: string): Promise<boolean> {
      const r = recording;
      if (!r) return true;
      recording = null;
      // The heartbeat runs until the row is final: finishing after a disk failure closes the file
      // and salvages it, which on a failing disk may outlast the 90 s after which the sweep (here
      // or on another instance) would take the row as abandoned and repair the same file at once.
      try {
        await r.finish(reason);
      } finally {
        if (heartbeat) clearInterval(heartbeat);
        heartbeat = null;
        if (recordingCharge) recordingCharge.bytes = r.bytes;
        recordingCharge = null;
      }
      const ended = r.endReason ?? reason;
      ctx.log.info(
        { conversation_id: r.id, bytes: r.bytes, duration_ms: r.durationMs, reason: ended },
        'conversation ended',
      );
      send(socket, {
        type: 'audio-stopped',
        data: { conversation_id: r.id, bytes: r.bytes, duration_ms: r.durationMs, reason: ended },
      });
      return !r.storageFailed;
    }

    async function audio(payload: Buffer): Promise<void> {
      const r = recording;
      if (!r) throw new ProtocolError(CLOSE.policy, 'audio before audio-start');
      if (payload.length === 0) return;
      if (r.bytesAfter(payload) > allowance.bytes) {
        throw new ProtocolError(CLOSE.tooBig, allowance.reason);
      }
      if (!r.write(payload)) {
        waitingForDisk = true;
        flow();
        try {
          await r.drained();
        } finally {
          waitingForDisk = false;
          flow();
        }
      }
    }

    async function message(data: Buffer, isBinary: boolean): Promise<void> {
      for (const event of parser.message(data, isBinary)) {
        // Audio travels in audio-chunk only: bytes on a start or stop would be dropped unheard.
        if (event.type !== 'audio-chunk' && event.payload && event.payload.length > 0) {
          throw new ProtocolError(
            CLOSE.policy,
            `payload on ${event.type} (audio goes in audio-chunk)`,
          );
        }
        if (event.type === 'audio-start') await startRecording(event.data);
        else if (event.type === 'audio-chunk') {
          if (recording) assertChunkFormat(recording.format, event.data);
          await audio(event.payload ?? Buffer.alloc(0));
        } else if (!recording)
          throw new ProtocolError(CLOSE.policy, 'audio-stop before audio-start');
        else if (!(await finishRecording('audio-stop'))) {
          // The file failed as it ended: the device is told as for a failure mid-stream (1011),
          // not left streaming its next conversation onto a failing disk as if this one was stored.
          throw new ProtocolError(CLOSE.internal, 'internal error');
        }
      }
    }

    async function end(e: Ending): Promise<void> {
      ended = true;
      queue.length = 0;
      queuedBytes = 0;
      clearTimeout(idle);
      ctx.signal.removeEventListener('abort', onAbort);
      try {
        await finishRecording(e.reason);
      } catch (err) {
        ctx.log.error({ err }, 'conversation could not be finalised');
        e = { reason: 'internal error', code: CLOSE.internal };
      }
      try {
        if (e.code !== undefined) closeSocket(socket, e.code, e.reason);
      } finally {
        // Whatever the close did, the stream is over: shutdown (closeAll) waits on `done`.
        if (socket.isPaused) socket.resume();
        sessions.delete(socket);
        resolveDone();
      }
    }

    async function pump(): Promise<void> {
      if (pumping || ended) return;
      pumping = true;
      try {
        while (!ended) {
          const next = queue[0];
          if (ending && (!ending.drain || !next || 'end' in next)) {
            await end(ending);
            break;
          }
          const item = queue.shift();
          if (!item) break;
          if ('end' in item) {
            const partial = parser.incomplete ? ' mid-event' : '';
            await end({ reason: `${item.end}${partial}` });
            break;
          }
          queuedBytes -= item.data.length + MESSAGE_OVERHEAD_BYTES;
          flow();
          try {
            await message(item.data, item.isBinary);
          } catch (err) {
            if (err instanceof ProtocolError) {
              ending = { reason: err.reason, code: err.code };
            } else {
              ctx.log.error({ err }, 'device stream failed');
              ending = { reason: 'internal error', code: CLOSE.internal };
            }
          }
        }
      } finally {
        pumping = false;
      }
    }

    sessions.set(socket, { stop: (reason) => stop({ reason, code: 1001, drain: true }), done });
    send(socket, {
      type: 'ready',
      data: {
        codec: ctx.codec,
        client_id: ctx.clientId,
        device_name: ctx.deviceName,
        idle_timeout_seconds: limits.idleTimeoutSeconds,
        max_conversation_bytes: limits.maxBytes,
      },
    });
  }

  const streams = Object.assign(handle, {
    active: 0,
    async closeAll(reason: string) {
      const all = [...sessions.values()];
      for (const s of all) s.stop(reason);
      await Promise.all(all.map((s) => s.done));
    },
  });
  Object.defineProperty(streams, 'active', { get: () => sessions.size });
  return streams;
}
