// A flight's frontend messages (PostgreSQL protocol 3.0, extended query), written straight into
// one buffer for the embedded database. PGlite's own serializer builds each message through a
// growable writer and copies it again into the flight: about 14 µs for the six messages of a
// tenant read, against about one here. The bytes are the same (src/db/flight-messages.test.ts
// compares them with PGlite's serializer, message by message).

/** One statement of a flight: Parse it under `name` first when `parse`; then Bind and Execute. */
export interface FlightStatement {
  name: string;
  parse: boolean;
  sql: string;
  /** Text values (null is SQL NULL); bytes travel in binary format, as PGlite's serializer does. */
  values: readonly (string | Uint8Array | null)[];
  /** Describe the portal before Execute (its RowDescription, or NoData). */
  describe: boolean;
}

const utf8Length = (s: string) => Buffer.byteLength(s, 'utf8');

/** [type byte][int32 length, itself included][body]: the size of everything but the body. */
const HEADER = 5;

function bindLength(values: FlightStatement['values'], statement: string): number {
  // portal "" + statement + format codes + values + result format codes (none: all text)
  let n = 1 + utf8Length(statement) + 1 + 2 + 2 * values.length + 2 + 2;
  for (const v of values) {
    if (v === null) n += 4;
    else n += 4 + (typeof v === 'string' ? utf8Length(v) : v.byteLength);
  }
  return n;
}

/** The Parse/Bind/Describe/Execute messages of `statements`, then one Sync. */
export function encodeFlight(statements: readonly FlightStatement[]): Uint8Array {
  let size = HEADER; // Sync: 'S' and its length, no body
  for (const s of statements) {
    if (s.parse) size += HEADER + utf8Length(s.name) + 1 + utf8Length(s.sql) + 1 + 2;
    size += HEADER + bindLength(s.values, s.name);
    if (s.describe) size += HEADER + 1 + 1; // 'P' + portal ""
    size += HEADER + 1 + 4; // portal "" + max rows 0
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  const header = (type: string, bodyLength: number) => {
    out[at] = type.charCodeAt(0);
    out.writeInt32BE(bodyLength + 4, at + 1);
    at += HEADER;
  };
  const cstring = (s: string) => {
    at += out.write(s, at, 'utf8');
    out[at++] = 0;
  };
  const int16 = (n: number) => {
    out.writeInt16BE(n, at);
    at += 2;
  };
  for (const s of statements) {
    if (s.parse) {
      header('P', utf8Length(s.name) + 1 + utf8Length(s.sql) + 1 + 2);
      cstring(s.name);
      cstring(s.sql);
      int16(0); // no parameter types: the server infers them
    }
    header('B', bindLength(s.values, s.name));
    cstring(''); // the unnamed portal
    cstring(s.name);
    int16(s.values.length);
    for (const v of s.values) int16(v instanceof Uint8Array ? 1 : 0);
    int16(s.values.length);
    for (const v of s.values) {
      if (v === null) {
        out.writeInt32BE(-1, at);
        at += 4;
      } else if (typeof v === 'string') {
        const length = out.write(v, at + 4, 'utf8');
        out.writeInt32BE(length, at);
        at += 4 + length;
      } else {
        out.writeInt32BE(v.byteLength, at);
        out.set(v, at + 4);
        at += 4 + v.byteLength;
      }
    }
    int16(0); // every result column in text format
    if (s.describe) {
      header('D', 1 + 1);
      out[at++] = 'P'.charCodeAt(0);
      cstring('');
    }
    header('E', 1 + 4);
    cstring('');
    out.writeInt32BE(0, at); // no row limit
    at += 4;
  }
  header('S', 0);
  if (at !== size) throw new Error(`flight encoded to ${at} bytes, ${size} expected`);
  return out;
}
