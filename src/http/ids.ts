import { randomBytesPooled } from '../crypto/random.ts';

// The last id's millisecond and its 12-bit counter (rand_a).
let lastMs = -1;
let counter = 0;

/**
 * UUIDv7 (RFC 9562): time-ordered, so ids double as the stable sort key for cursor pagination
 * and index well. 48-bit ms timestamp, a 12-bit counter, then 62 random bits.
 *
 * Monotonic within the process (RFC 9562 section 6.2, method 1): ids made in one millisecond
 * take the counter in turn (it starts at a random value below 2048 each millisecond, and a
 * full counter moves on to the next millisecond), and a clock that steps back keeps the last
 * millisecond. With random bits alone, two rows written in one millisecond (an SMS and the
 * auto-reply answering it) sorted in either order, and lists ordered by id showed the reply
 * first or second at random. `at` (seed data of the past): an id of that millisecond, random,
 * outside the sequence.
 */
export function newId(at?: number): string {
  const b = randomBytesPooled(16);
  if (at !== undefined) return format(b, at, ((b[6]! & 0x0f) << 8) | b[7]!);
  let ms = Date.now();
  if (ms > lastMs) {
    counter = ((b[6]! & 0x07) << 8) | b[7]!;
  } else {
    ms = lastMs;
    counter += 1;
    if (counter > 0xfff) {
      ms += 1;
      counter = ((b[6]! & 0x07) << 8) | b[7]!;
    }
  }
  lastMs = ms;
  return format(b, ms, counter);
}

/** The UUIDv7 of `ms`, `rand_a` (12 bits) and b's random bits from byte 8 on. */
function format(b: Buffer, ms: number, randA: number): string {
  b.writeUIntBE(ms, 0, 6);
  b[6] = 0x70 | (randA >> 8);
  b[7] = randA & 0xff;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export const UUID_PATTERN =
  '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
