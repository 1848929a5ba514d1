// Reading the embedded database's answers. PGlite passes every byte its backend writes through its
// protocol Parser (pg-protocol's, bundled) before execProtocol() returns, whoever asked. That parser
// copies each field into a fresh ArrayBuffer (ArrayBuffer.prototype.slice), wraps it in a new
// Uint8Array and decodes it with TextDecoder, and makes a DataView per message: under
// `GET /api/prompts` (20 rows) on the embedded database it was the largest single cost of the
// server, more than PostgreSQL's own WebAssembly. PGlite keeps its parser private, so the one
// seam is the Parser class it exports and instantiates: its `parse` is replaced, once, by one
// that reads the messages every statement's answer is made of straight from the chunk, and
// hands every other message (errors, notices, copy, authentication, notifications, …) to
// PGlite's own parse, whole.
//
// Invariants, each checked against PGlite's own parse in pglite-answers.test.ts:
// - The same messages, in the same order, built with PGlite's own classes (its handlers and ours
//   test them with instanceof): DataRow, RowDescription, CommandComplete, ReadyForQuery and the
//   body-less ones (shared constants, as PGlite's are).
// - A message split across chunks is kept, copied, until its last byte has come: the chunk is a
//   view into the WebAssembly heap, which the backend overwrites on its next write.
// - Text is decoded as UTF-8 from the chunk at once (nothing keeps a view into the heap). Unlike
//   TextDecoder's default, a leading U+FEFF in a value is kept: the value the database holds.
// - A length field below 4 (not PostgreSQL's protocol) goes to PGlite's parse with the rest, so
//   a broken stream fails as it did before.
import { protocol } from '@electric-sql/pglite';

type Chunk = Parameters<protocol.Parser['parse']>[0];
type Callback = Parameters<protocol.Parser['parse']>[1];
type Message = Parameters<Callback>[0];

const M = protocol.messages;

/** The messages without a body, by type byte: PGlite's shared constants. */
const BODYLESS: Readonly<Record<number, Message>> = {
  49: M.parseComplete, // '1'
  50: M.bindComplete, // '2'
  51: M.closeComplete, // '3'
  110: M.noData, // 'n'
  115: M.portalSuspended, // 's'
  73: M.emptyQuery, // 'I'
};

const DATA_ROW = 68; // 'D'
const ROW_DESCRIPTION = 84; // 'T'
const COMMAND_COMPLETE = 67; // 'C'
const READY_FOR_QUERY = 90; // 'Z'

/**
 * The bytes of a message cut by the end of the previous chunk, per parser (PGlite makes one per
 * instance, and a new one after each error): `bytes` holds `used` of them and grows by doubling,
 * so a value written in many pieces is copied a bounded number of times, not once per piece.
 */
interface Held {
  bytes: Uint8Array;
  used: number;
}
const heldBytes = new WeakMap<object, Held>();

/** `chunk` appended to what `parser` held: the bytes to read now. */
function withHeld(parser: object, chunk: Uint8Array): Uint8Array {
  const held = heldBytes.get(parser);
  if (!held) return chunk;
  const needed = held.used + chunk.byteLength;
  if (needed > held.bytes.byteLength) {
    const grown = new Uint8Array(Math.max(needed, held.bytes.byteLength * 2));
    grown.set(held.bytes.subarray(0, held.used));
    held.bytes = grown;
  }
  held.bytes.set(chunk, held.used);
  held.used = needed;
  return held.bytes.subarray(0, needed);
}

/** Keeps `rest` (the start of a message) for the parser's next chunk, copied out of the heap. */
function hold(parser: object, rest: Uint8Array): void {
  const held = heldBytes.get(parser);
  if (held && rest.buffer === held.bytes.buffer) {
    held.bytes.copyWithin(0, rest.byteOffset, rest.byteOffset + rest.byteLength);
    held.used = rest.byteLength;
    return;
  }
  // The whole message's size once its length field has come: one allocation for all its pieces.
  const whole =
    rest.byteLength >= 5 ? 1 + new DataView(rest.buffer, rest.byteOffset).getUint32(1) : 0;
  const bytes = new Uint8Array(Math.max(whole, rest.byteLength, 64));
  bytes.set(rest);
  heldBytes.set(parser, { bytes, used: rest.byteLength });
}

/** A NUL-terminated string starting at `at`: its text and where the next field starts. */
function cstring(buf: Buffer, at: number): [string, number] {
  const nul = buf.indexOf(0, at);
  if (nul < 0) throw new Error('malformed message from the embedded database: unterminated string');
  return [buf.toString('utf8', at, nul), nul + 1];
}

function dataRow(buf: Buffer, at: number, length: number): Message {
  const count = buf.readInt16BE(at);
  let p = at + 2;
  const fields: (string | null)[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const size = buf.readInt32BE(p);
    p += 4;
    if (size === -1) fields[i] = null;
    else {
      fields[i] = buf.toString('utf8', p, p + size);
      p += size;
    }
  }
  return new M.DataRowMessage(length, fields);
}

function rowDescription(buf: Buffer, at: number, length: number): Message {
  const count = buf.readInt16BE(at);
  const message = new M.RowDescriptionMessage(length, count);
  let p = at + 2;
  for (let i = 0; i < count; i++) {
    const [name, next] = cstring(buf, p);
    p = next;
    message.fields[i] = new M.Field(
      name,
      buf.readInt32BE(p),
      buf.readInt16BE(p + 4),
      buf.readInt32BE(p + 6),
      buf.readInt16BE(p + 10),
      buf.readInt32BE(p + 12),
      // PGlite's modes: 0 text, 1 binary.
      buf.readInt16BE(p + 16) === 0 ? 0 : 1,
    );
    p += 18;
  }
  return message;
}

/**
 * Parses one chunk of backend output into messages for `callback`, with `fallback` (PGlite's own
 * parse, bound to the same parser) for every message type not read here.
 */
export function parseAnswerChunk(
  parser: object,
  chunk: Chunk,
  callback: Callback,
  fallback: (bytes: Uint8Array, callback: Callback) => void,
): void {
  const bytes = withHeld(
    parser,
    ArrayBuffer.isView(chunk)
      ? new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)
      : new Uint8Array(chunk),
  );
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = buf.byteLength;
  let at = 0;
  while (at + 5 <= end) {
    const type = buf[at]!;
    const length = buf.readUInt32BE(at + 1);
    if (length < 4) {
      heldBytes.delete(parser);
      fallback(bytes.slice(at), callback);
      return;
    }
    const next = at + 1 + length;
    if (next > end) break;
    const body = at + 5;
    let message = BODYLESS[type];
    if (message === undefined) {
      if (type === DATA_ROW) message = dataRow(buf, body, length);
      else if (type === ROW_DESCRIPTION) message = rowDescription(buf, body, length);
      else if (type === COMMAND_COMPLETE)
        message = new M.CommandCompleteMessage(length, cstring(buf, body)[0]);
      else if (type === READY_FOR_QUERY)
        message = new M.ReadyForQueryMessage(length, String.fromCharCode(buf[body]!));
      else {
        fallback(bytes.slice(at, next), callback);
        at = next;
        continue;
      }
    }
    callback(message);
    at = next;
  }
  if (at < end) hold(parser, bytes.subarray(at));
  else heldBytes.delete(parser);
}

/** Marks the installed parse across module instances (tests load this module once per file; PGlite once per process). */
const INSTALLED = Symbol.for('switchboard.pglite-answer-parser');

type Parse = protocol.Parser['parse'] & { [INSTALLED]?: Parse };

/** PGlite's own Parser.prototype.parse, whether or not installAnswerParser has replaced it. */
export function pgliteOwnParse(): Parse {
  const current = protocol.Parser.prototype.parse as Parse;
  return current[INSTALLED] ?? current;
}

/** Replaces PGlite's Parser.prototype.parse by parseAnswerChunk, once per process. */
export function installAnswerParser(): void {
  if ((protocol.Parser.prototype.parse as Parse)[INSTALLED]) return;
  const original = protocol.Parser.prototype.parse;
  const parse: Parse = function parse(this: protocol.Parser, chunk: Chunk, callback: Callback) {
    parseAnswerChunk(this, chunk, callback, (bytes, cb) => original.call(this, bytes, cb));
  };
  parse[INSTALLED] = original;
  protocol.Parser.prototype.parse = parse;
}
