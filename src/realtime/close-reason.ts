// WebSocket close reasons. RFC 6455 §5.5: a control frame carries at most 125 bytes, two of them
// the close code, so a reason is at most 123 bytes of UTF-8; `ws` throws a RangeError past that.
// Reasons can quote what a client sent (an unknown event type): a throw there, inside a stream's
// end, escaped as an unhandled rejection and stopped the whole process.

export const MAX_CLOSE_REASON_BYTES = 123;

/**
 * `text` cut to at most 123 bytes of UTF-8, at a character boundary: a cut inside a multi-byte
 * character would decode to U+FFFD (3 bytes) and overflow again.
 */
export function closeReason(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= MAX_CLOSE_REASON_BYTES) return bytes.toString('utf8');
  let end = MAX_CLOSE_REASON_BYTES;
  // A continuation byte (10xxxxxx) at the cut belongs to a character begun before it.
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}
