import { randomBytesPooled } from '../crypto/random.ts';

/**
 * UUIDv7 (RFC 9562): time-ordered, so ids double as the stable sort key for cursor pagination
 * and index well. 48-bit ms timestamp, then 74 random bits.
 */
export function newId(now = Date.now()): string {
  const b = randomBytesPooled(16);
  b.writeUIntBE(now, 0, 6);
  b[6] = (b[6]! & 0x0f) | 0x70;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export const UUID_PATTERN =
  '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
