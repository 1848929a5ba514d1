// The stream protocol's framing and format rules, and the Opus/Ogg and range primitives, each on
// its own (the socket-level behaviour is in conversations*.test.ts).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { byteRange } from './conversation.routes.ts';
import { oggCrc, oggPage, opusPacketSamples } from './ogg-opus.ts';
import {
  audioFormat,
  ProtocolError,
  StreamParser,
  socketFailureReason,
} from './stream-protocol.ts';

const bin = (s: string) => Buffer.from(s);
// A global gc() for the memory bound below (a fresh context picks the flag up).
setFlagsFromString('--expose-gc');

describe('StreamParser', () => {
  it('a text header with payload_length waits for exactly that many binary bytes', () => {
    const p = new StreamParser();
    expect(p.message(bin('{"type":"audio-chunk","payload_length":4}\n'), false)).toEqual([]);
    expect(p.incomplete).toBe(true);
    expect(p.message(Buffer.from([1, 2]), true)).toEqual([]);
    const [e] = p.message(Buffer.from([3, 4]), true);
    expect(e).toMatchObject({ type: 'audio-chunk', payload: Buffer.from([1, 2, 3, 4]) });
    expect(p.incomplete).toBe(false);
  });

  it('an event gathered from many messages keeps its bytes, not the messages', () => {
    const p = new StreamParser();
    const n = 100_000;
    p.message(bin(`{"type":"audio-chunk","data_length":9,"payload_length":${n}}`), false);
    expect(p.message(bin('{"a": 1} '), true)).toEqual([]);
    // One byte per message, each a view into a buffer the socket may reuse once it is handled.
    const wire = Buffer.alloc(n, 7);
    for (let i = 0; i < n - 1; i++) p.message(wire.subarray(i, i + 1), true);
    expect(p.incomplete).toBe(true);
    // The parser copied what it needed: the messages' memory reused before the end changes nothing.
    wire.fill(0);
    const events = p.message(Buffer.from([7]), true);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'audio-chunk', data: { a: 1 } });
    expect(events[0]?.payload?.length).toBe(n);
    expect(events[0]?.payload?.every((b) => b === 7)).toBe(true);
  });

  it('one-byte messages toward a 16 MiB event hold about their bytes, not a Buffer per message', () => {
    // 2 M messages held as Buffers were ~200 MB of heap (enough of them stopped the process).
    const gc = runInNewContext('gc') as () => void;
    const p = new StreamParser();
    p.message(bin(`{"type":"audio-chunk","payload_length":${16 * 1024 * 1024}}`), false);
    gc();
    const before = process.memoryUsage();
    for (let i = 0; i < 2_000_000; i++) p.message(Buffer.from([i & 0xff]), true);
    gc();
    const after = process.memoryUsage();
    const grown = after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers);
    expect(p.incomplete).toBe(true);
    expect(grown).toBeLessThan(16 * 1024 * 1024);
  });

  it('a binary Wyoming event carries header, data and payload in one message', () => {
    const p = new StreamParser();
    const msg = Buffer.concat([
      bin(
        '{"type": "audio-chunk", "data": {"rate": 16000}, "data_length": 12, "payload_length": 2}\n',
      ),
      bin('{"width": 2}'),
      Buffer.from([9, 9]),
    ]);
    const [e] = p.message(msg, true);
    expect(e).toMatchObject({ type: 'audio-chunk', data: { rate: 16000, width: 2 } });
    expect(e?.payload).toEqual(Buffer.from([9, 9]));
  });

  it('other binary messages are raw audio, even when they start with "{"', () => {
    const p = new StreamParser();
    const [e] = p.message(bin('{not a header'), true);
    expect(e).toMatchObject({ type: 'audio-chunk', payload: bin('{not a header') });
  });

  it.each([
    [
      'text while a payload is owed',
      (p: StreamParser) => {
        p.message(bin('{"type":"audio-chunk","payload_length":4}'), false);
        p.message(bin('{"type":"audio-stop"}'), false);
      },
      1007,
    ],
    [
      'more bytes than announced',
      (p: StreamParser) => {
        p.message(bin('{"type":"audio-chunk","payload_length":1}'), false);
        p.message(Buffer.from([1, 2]), true);
      },
      1007,
    ],
    [
      'a binary header without newline',
      (p: StreamParser) => p.message(bin('{"type":"audio-chunk"'), true),
      1007,
    ],
    [
      'payload_length as a string',
      (p: StreamParser) => p.message(bin('{"type":"audio-chunk","payload_length":"4"}'), false),
      1007,
    ],
    [
      'payload_length beyond 16 MiB',
      (p: StreamParser) =>
        p.message(bin('{"type":"audio-chunk","payload_length":99999999}'), false),
      1009,
    ],
    [
      'data within 8 KiB and payload within 16 MiB, beyond 16 MiB together',
      (p: StreamParser) =>
        p.message(
          bin('{"type":"audio-chunk","data_length":8192,"payload_length":16769025}'),
          false,
        ),
      1009,
    ],
    [
      'data that is not an object',
      (p: StreamParser) => p.message(bin('{"type":"audio-start","data":[1]}'), false),
      1007,
    ],
    ['an unknown type', (p: StreamParser) => p.message(bin('{"type":"describe"}'), false), 1008],
    ['a huge header', (p: StreamParser) => p.message(Buffer.alloc(9000, 0x20), false), 1007],
  ])('%s → ProtocolError %i', (_what, act, code) => {
    const p = new StreamParser();
    let err: unknown;
    try {
      act(p);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as ProtocolError).code).toBe(code);
  });
});

describe('StreamParser: data_length', () => {
  const refusal = (act: () => unknown) => {
    try {
      act();
    } catch (e) {
      return e;
    }
    return undefined;
  };

  it('beyond 8 KiB is refused at the header (1009), before any of the data is held or parsed', () => {
    // The data carries a few fields and is one synchronous JSON.parse: 16 MiB of
    // {"a":[{},{},…]} was 2.5 s of the event loop every tenant shares.
    for (const [msg, isBinary] of [
      [bin('{"type":"audio-chunk","data_length":8193}'), false],
      [bin('{"type":"audio-chunk","data_length":16000000,"payload_length":2}\n{"a":['), true],
    ] as const) {
      const p = new StreamParser();
      const err = refusal(() => p.message(msg, isBinary));
      expect(err).toBeInstanceOf(ProtocolError);
      expect(err).toMatchObject({ code: 1009, reason: 'data_length too large' });
      expect(p.incomplete).toBe(false);
      expect(p.heldBytes).toBe(0);
    }
  });

  it("up to 8 KiB is taken, and merged into the header's data", () => {
    const p = new StreamParser();
    const data = Buffer.from(JSON.stringify({ rate: 16000, pad: 'x'.repeat(8192 - 23) }));
    expect(data.length).toBe(8192);
    p.message(bin(`{"type":"audio-chunk","data_length":8192,"payload_length":2}`), false);
    expect(p.message(data, true)).toEqual([]);
    const [e] = p.message(Buffer.from([1, 2]), true);
    expect(e).toMatchObject({ type: 'audio-chunk', data: { rate: 16000 } });
    expect(e?.payload).toEqual(Buffer.from([1, 2]));
  });

  it('heldBytes is the memory of the event being gathered, and 0 once it is complete', () => {
    const p = new StreamParser();
    p.message(bin('{"type":"audio-chunk","payload_length":100000}'), false);
    expect(p.heldBytes).toBe(0);
    p.message(Buffer.alloc(30_000), true);
    expect(p.heldBytes).toBeGreaterThanOrEqual(30_000);
    expect(p.heldBytes).toBeLessThanOrEqual(100_000);
    p.message(Buffer.alloc(70_000), true);
    expect(p.heldBytes).toBe(0);
  });
});

describe('socketFailureReason', () => {
  it("names what ws closed the socket for, and nothing for the connection's own errors", () => {
    const err = (code?: string) => Object.assign(new Error('x'), { code });
    expect(socketFailureReason(err('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'))).toBe(
      'message too large (1009)',
    );
    expect(socketFailureReason(err('WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH'))).toBe(
      'message too large (1009)',
    );
    expect(socketFailureReason(err('WS_ERR_TOO_MANY_BUFFERED_PARTS'))).toBe(
      'too many fragments (1008)',
    );
    expect(socketFailureReason(err('WS_ERR_INVALID_UTF8'))).toBe('invalid UTF-8 text (1007)');
    expect(socketFailureReason(err('WS_ERR_INVALID_OPCODE'))).toBe('protocol error (1002)');
    expect(socketFailureReason(err('ECONNRESET'))).toBeUndefined();
    expect(socketFailureReason(err())).toBeUndefined();
  });
});

describe('audioFormat', () => {
  it('PCM: rate, width 2 and channels are required; Opus defaults to 16 kHz mono', () => {
    expect(audioFormat('pcm', { rate: 16000, width: 2, channels: 2 })).toEqual({
      codec: 'pcm',
      sampleRate: 16000,
      channels: 2,
      width: 2,
    });
    expect(audioFormat('opus', {})).toEqual({
      codec: 'opus',
      sampleRate: 16000,
      channels: 1,
      width: 0,
    });
    expect(() => audioFormat('pcm', { rate: 16000, width: 2 })).toThrow(ProtocolError);
    expect(() => audioFormat('opus', { rate: 16000.5 })).toThrow(/integer/);
    expect(() => audioFormat('opus', { format: 'pcm' })).toThrow(/not opus/);
  });
});

describe('Opus TOC and Ogg pages', () => {
  it('reads packet durations from the TOC byte (RFC 6716 §3.1)', () => {
    expect(opusPacketSamples(Buffer.from([(1 << 3) | 0]))).toBe(960); // SILK NB 20 ms, 1 frame
    expect(opusPacketSamples(Buffer.from([(31 << 3) | 1]))).toBe(1920); // CELT FB 20 ms, 2 frames
    expect(opusPacketSamples(Buffer.from([(16 << 3) | 3, 4]))).toBe(480); // CELT 2.5 ms × 4
    expect(opusPacketSamples(Buffer.from([(3 << 3) | 3, 3]))).toBe(null); // 3 × 60 ms > 120 ms
    expect(opusPacketSamples(Buffer.from([(16 << 3) | 3]))).toBe(null); // code 3 without count
    expect(opusPacketSamples(Buffer.alloc(0))).toBe(null);
  });

  it('computes the Ogg CRC so that a page checks out', () => {
    const page = oggPage({
      packets: [Buffer.alloc(300, 1)],
      granule: 960n,
      serial: 7,
      sequence: 2,
      flags: 0,
    });
    expect(page.toString('ascii', 0, 4)).toBe('OggS');
    expect(page[26]).toBe(2); // 300 bytes = lacing 255 + 45
    const crc = page.readUInt32LE(22);
    const zeroed = Buffer.from(page);
    zeroed.writeUInt32LE(0, 22);
    expect(oggCrc(zeroed)).toBe(crc);
    expect(oggCrc(Buffer.from('123456789'))).toBe(0x89a1897f); // the check value of Ogg's CRC-32
  });
});

describe('byteRange', () => {
  it('parses one range, suffix ranges and open ends; several ranges get the whole file', () => {
    expect(byteRange(undefined, 100)).toBeNull();
    expect(byteRange('bytes=0-9', 100)).toEqual([0, 9]);
    expect(byteRange('bytes=90-', 100)).toEqual([90, 99]);
    expect(byteRange('bytes=-5', 100)).toEqual([95, 99]);
    expect(byteRange('bytes=50-500', 100)).toEqual([50, 99]);
    expect(byteRange('bytes=0-1,5-6', 100)).toBeNull();
    expect(() => byteRange('bytes=100-', 100)).toThrow();
    expect(() => byteRange('bytes=-0', 100)).toThrow();
  });

  it('matches the unit case-insensitively and ignores a range whose end precedes its start', () => {
    expect(byteRange('BYTES=0-9', 100)).toEqual([0, 9]);
    expect(byteRange('Bytes=-5', 100)).toEqual([95, 99]);
    expect(byteRange('bytes=5-2', 100)).toBeNull();
    expect(byteRange('bytes=150-120', 100)).toBeNull();
    expect(byteRange('items=0-9', 100)).toBeNull();
  });
});
