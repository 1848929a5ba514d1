// The device stream protocol: framing and validation only (no I/O), so every rule is tested on
// its own. The README's "Device audio: stream protocol" documents the same rules.
//
// A message is one of:
// - a text message: one Wyoming event header, JSON (`{"type": …, "data": {…}, "data_length": n,
//   "payload_length": m}`, a trailing newline allowed). With a data or payload length, the
//   following binary message(s) carry exactly data_length + payload_length bytes;
// - a binary message starting with `{"type"`: a whole Wyoming event (header line, "\n", then the
//   data and payload bytes, which may continue in the following binary messages);
// - any other binary message: raw audio (one Opus packet on /ws, PCM bytes on /ws_pcm).

/** Close codes of protocol failures (RFC 6455 §7.4.1). */
export const CLOSE = {
  normal: 1000,
  unsupported: 1003,
  invalidPayload: 1007,
  policy: 1008,
  tooBig: 1009,
  /** The audio could not be stored (or another failure of the server's). */
  internal: 1011,
} as const;

/**
 * The end reason of a socket ws closed by itself, from the error it reported: a message over its
 * maxPayload (REALTIME_MAX_FRAME_BYTES), text that is not UTF-8, a malformed frame. ws sends the
 * close code but stops reading, so the close event carries 1006 (no close frame came back): the
 * reason would otherwise hide why the recording ended. Undefined for errors of the connection.
 */
export function socketFailureReason(err: Error & { code?: unknown }): string | undefined {
  if (
    err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ||
    err.code === 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH'
  ) {
    return `message too large (${CLOSE.tooBig})`;
  }
  if (err.code === 'WS_ERR_TOO_MANY_BUFFERED_PARTS') return `too many fragments (${CLOSE.policy})`;
  if (err.code === 'WS_ERR_INVALID_UTF8') return `invalid UTF-8 text (${CLOSE.invalidPayload})`;
  if (typeof err.code === 'string' && err.code.startsWith('WS_ERR_'))
    return 'protocol error (1002)';
  return undefined;
}

/** A protocol failure: the stream closes with `code` and `reason` (what arrived is kept). */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
  constructor(
    readonly code: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

export const EVENT_TYPES = ['audio-start', 'audio-chunk', 'audio-stop'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface StreamEvent {
  type: EventType;
  data: Record<string, unknown>;
  /** audio-chunk: the audio bytes (a raw binary message is an audio-chunk with empty data). */
  payload?: Buffer;
}

/** A header line longer than this is not a header. */
export const MAX_HEADER_BYTES = 8192;
/**
 * The most bytes of extra JSON data (`data_length`) an event may announce: a header's worth. The
 * data only carries a few fields (rate, width, channels), and it is parsed synchronously, as one
 * JSON.parse on the event loop every tenant shares: 16 MiB of `{"a":[{},{},…]}` was 2.5 s of
 * event loop and +339 MiB of heap per event. Refused at the header, before any of it is held.
 */
export const MAX_DATA_BYTES = MAX_HEADER_BYTES;
/** The most bytes one event may announce (data and payload): the payload is opaque audio. */
export const MAX_EVENT_BYTES = 16 * 1_048_576;

const EMPTY = Buffer.alloc(0);
const WYOMING_PREFIX = Buffer.from('{"type"', 'ascii');
const NEWLINE = 0x0a;

function byteLength(value: unknown, field: string, max: number): number {
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new ProtocolError(CLOSE.invalidPayload, `${field} must be a non-negative integer`);
  }
  if (value > max) throw new ProtocolError(CLOSE.tooBig, `${field} too large`);
  return value;
}

function parseObject(text: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ProtocolError(CLOSE.invalidPayload, `malformed JSON ${what}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProtocolError(CLOSE.invalidPayload, `${what} must be a JSON object`);
  }
  return value as Record<string, unknown>;
}

interface Header {
  type: EventType;
  data: Record<string, unknown>;
  dataLength: number;
  payloadLength: number;
}

function parseHeader(text: string): Header {
  const h = parseObject(text, 'event header');
  if (typeof h.type !== 'string') {
    throw new ProtocolError(CLOSE.invalidPayload, 'event header needs a string "type"');
  }
  if (!(EVENT_TYPES as readonly string[]).includes(h.type)) {
    throw new ProtocolError(CLOSE.policy, `unknown event type "${h.type.slice(0, 40)}"`);
  }
  const data = h.data ?? {};
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ProtocolError(CLOSE.invalidPayload, '"data" must be a JSON object');
  }
  const dataLength = byteLength(h.data_length, 'data_length', MAX_DATA_BYTES);
  const payloadLength = byteLength(h.payload_length, 'payload_length', MAX_EVENT_BYTES);
  // The event is held whole until its last byte: the cap is on what it announces in all, not on
  // each part (16 MiB of data and 16 MiB of payload were 32 MiB held per socket).
  if (dataLength + payloadLength > MAX_EVENT_BYTES) {
    throw new ProtocolError(CLOSE.tooBig, 'data_length + payload_length too large');
  }
  return {
    type: h.type as EventType,
    data: data as Record<string, unknown>,
    dataLength,
    payloadLength,
  };
}

/**
 * Turns a socket's messages into events. Keeps the one piece of framing state: a header whose
 * data and payload bytes are still to come.
 */
export class StreamParser {
  /**
   * The event being gathered: its bytes so far, copied into one buffer that grows (doubling) up to
   * what the header announced. Never a list of the messages' buffers: a client sending the
   * announced 16 MiB one byte per message would hold a Buffer object (~100 bytes of heap) per
   * byte, gigabytes for one socket, where the flow control counts only the bytes.
   */
  private pending: { header: Header; bytes: Buffer; got: number } | null = null;

  /** The events `message` completes (none while a payload is incomplete); throws ProtocolError. */
  message(raw: Buffer, isBinary: boolean): StreamEvent[] {
    if (!isBinary) {
      if (this.pending) throw this.mismatch();
      if (raw.length > MAX_HEADER_BYTES) {
        throw new ProtocolError(CLOSE.invalidPayload, 'event header too long');
      }
      return this.begin(parseHeader(raw.toString('utf8')), raw.subarray(raw.length));
    }
    if (this.pending) return this.more(raw);
    if (raw.subarray(0, WYOMING_PREFIX.length).equals(WYOMING_PREFIX)) {
      const end = raw.subarray(0, MAX_HEADER_BYTES + 1).indexOf(NEWLINE);
      if (end < 0) throw new ProtocolError(CLOSE.invalidPayload, 'event header without newline');
      return this.begin(parseHeader(raw.toString('utf8', 0, end)), raw.subarray(end + 1));
    }
    return [{ type: 'audio-chunk', data: {}, payload: raw }];
  }

  /** True while a header's bytes are still expected (the stream ends in the middle of one). */
  get incomplete(): boolean {
    return this.pending !== null;
  }

  /**
   * The memory the event being gathered holds (its buffer, at most what its header announced):
   * the stream handler counts it with its queue, so the flow control sees every byte it keeps.
   */
  get heldBytes(): number {
    return this.pending ? this.pending.bytes.length : 0;
  }

  private begin(header: Header, rest: Buffer): StreamEvent[] {
    if (header.dataLength + header.payloadLength === 0) {
      if (rest.length > 0) throw this.mismatch();
      return [{ type: header.type, data: header.data, payload: Buffer.alloc(0) }];
    }
    this.pending = { header, bytes: EMPTY, got: 0 };
    return rest.length > 0 ? this.more(rest) : [];
  }

  private more(chunk: Buffer): StreamEvent[] {
    const p = this.pending;
    if (!p) return [];
    const need = p.header.dataLength + p.header.payloadLength;
    if (p.got + chunk.length > need) throw this.mismatch();
    if (p.got === 0 && chunk.length === need) {
      // The whole event in one message (the usual case): no copy.
      p.bytes = chunk;
    } else if (chunk.length > 0) {
      if (p.bytes.length < p.got + chunk.length) {
        const size = Math.min(need, Math.max(p.got + chunk.length, 2 * p.bytes.length, 4096));
        const grown = Buffer.allocUnsafe(size);
        p.bytes.copy(grown, 0, 0, p.got);
        p.bytes = grown;
      }
      chunk.copy(p.bytes, p.got);
    }
    p.got += chunk.length;
    if (p.got < need) return [];
    this.pending = null;
    const bytes = p.bytes.subarray(0, need);
    let data = p.header.data;
    if (p.header.dataLength > 0) {
      data = {
        ...data,
        ...parseObject(bytes.toString('utf8', 0, p.header.dataLength), 'event data'),
      };
    }
    return [{ type: p.header.type, data, payload: bytes.subarray(p.header.dataLength) }];
  }

  private mismatch(): ProtocolError {
    const p = this.pending;
    const detail = p
      ? `expected ${p.header.dataLength + p.header.payloadLength - p.got} more bytes`
      : 'bytes after the header';
    return new ProtocolError(CLOSE.invalidPayload, `payload_length mismatch: ${detail}`);
  }
}

/** Sample rates a stream may announce (Hz). */
export const SAMPLE_RATES = [8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000];
/** What an Opus stream is taken to be when audio-start does not say (an Omi-style device). */
export const OPUS_DEFAULTS = { rate: 16000, channels: 1 } as const;

export interface AudioFormat {
  codec: 'opus' | 'pcm';
  sampleRate: number;
  channels: number;
  /** Bytes per sample: 2 for PCM (16-bit little-endian); Opus has none (0). */
  width: number;
}

function intField(data: Record<string, unknown>, name: string): number | undefined {
  const v = data[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new ProtocolError(CLOSE.invalidPayload, `audio-start "${name}" must be an integer`);
  }
  return v;
}

/**
 * An audio-chunk may repeat its stream's format (Wyoming clients send rate, width and channels
 * with every chunk); one that announces another is refused, not stored under the stream's format
 * (where its duration and sound would be wrong). A new format needs audio-stop and audio-start.
 */
export function assertChunkFormat(format: AudioFormat, data: Record<string, unknown>): void {
  // PCM only: its bytes mean nothing without the format; an Opus packet carries its own.
  if (format.codec !== 'pcm') return;
  for (const [name, expected] of [
    ['rate', format.sampleRate],
    ['width', format.width],
    ['channels', format.channels],
  ] as const) {
    const v = data[name];
    if (v === undefined || v === null) continue;
    if (v !== expected) {
      throw new ProtocolError(
        CLOSE.unsupported,
        `audio-chunk ${name} ${JSON.stringify(v).slice(0, 12)} differs from the stream's ${expected}; send audio-stop and a new audio-start`,
      );
    }
  }
}

/**
 * The format an audio-start announces, checked against the endpoint's codec. PCM must announce
 * rate, width (2) and channels (1 or 2); Opus may announce rate and channels.
 */
export function audioFormat(codec: 'opus' | 'pcm', data: Record<string, unknown>): AudioFormat {
  const format = data.format ?? data.codec;
  if (format !== undefined && format !== null) {
    const ok = codec === 'pcm' ? ['pcm', 'wav', 's16le', 'pcm_s16le'] : ['opus'];
    if (typeof format !== 'string' || !ok.includes(format.toLowerCase())) {
      throw new ProtocolError(
        CLOSE.unsupported,
        `format ${JSON.stringify(format).slice(0, 20)} is not ${codec} (this endpoint)`,
      );
    }
  }
  const rate = intField(data, 'rate');
  const width = intField(data, 'width');
  const channels = intField(data, 'channels');
  if (codec === 'pcm' && (rate === undefined || width === undefined || channels === undefined)) {
    throw new ProtocolError(CLOSE.unsupported, 'audio-start must announce rate, width, channels');
  }
  if (rate !== undefined && !SAMPLE_RATES.includes(rate)) {
    throw new ProtocolError(CLOSE.unsupported, `unsupported sample rate ${rate}`);
  }
  if (codec === 'pcm' && width !== 2) {
    throw new ProtocolError(CLOSE.unsupported, 'unsupported sample width (16-bit PCM only: 2)');
  }
  if (channels !== undefined && channels !== 1 && channels !== 2) {
    throw new ProtocolError(CLOSE.unsupported, 'unsupported channel count (1 or 2)');
  }
  return {
    codec,
    sampleRate: rate ?? OPUS_DEFAULTS.rate,
    channels: channels ?? OPUS_DEFAULTS.channels,
    width: codec === 'pcm' ? 2 : 0,
  };
}
