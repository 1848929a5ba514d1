// WAV (RIFF, PCM) headers for the PCM conversations. The header is written first with zero sizes
// and finalised once the stream ends (`wavHeader` again, written over the first 44 bytes), so a
// file whose writer died is still repaired from its length alone (see recovery.ts).

/** Bytes of the canonical PCM header this module writes. */
export const WAV_HEADER_BYTES = 44;

export interface PcmFormat {
  sampleRate: number;
  channels: number;
  /** Bytes per sample (2: 16-bit). */
  width: number;
}

/** The 44-byte header of a PCM WAV file holding `dataBytes` bytes of samples. */
export function wavHeader(format: PcmFormat, dataBytes: number): Buffer {
  const h = Buffer.alloc(WAV_HEADER_BYTES);
  const blockAlign = format.channels * format.width;
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(Math.min(36 + dataBytes, 0xffffffff), 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16); // fmt chunk size
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(format.channels, 22);
  h.writeUInt32LE(format.sampleRate, 24);
  h.writeUInt32LE(format.sampleRate * blockAlign, 28); // byte rate
  h.writeUInt16LE(blockAlign, 32);
  h.writeUInt16LE(format.width * 8, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(dataBytes, 40);
  return h;
}

/**
 * The bytes of `dataBytes` that make whole sample frames: a WAV file's data holds whole frames
 * only, so a stream cut inside a frame (a device sending an odd byte count, a crash) keeps the
 * frames before it and drops the rest, whether it ended normally or was recovered.
 */
export function wholeFrameBytes(format: PcmFormat, dataBytes: number): number {
  const block = format.channels * format.width;
  return Math.floor(dataBytes / block) * block;
}

/** Whole sample frames in `dataBytes`, as milliseconds. */
export function pcmDurationMs(format: PcmFormat, dataBytes: number): number {
  const frames = Math.floor(dataBytes / (format.channels * format.width));
  return Math.floor((frames * 1000) / format.sampleRate);
}

/** The format of a header this module wrote, or null when `head` is not one. */
export function readWavHeader(head: Buffer): PcmFormat | null {
  if (head.length < WAV_HEADER_BYTES) return null;
  if (head.toString('ascii', 0, 4) !== 'RIFF' || head.toString('ascii', 8, 12) !== 'WAVE') {
    return null;
  }
  if (head.toString('ascii', 36, 40) !== 'data') return null;
  return {
    channels: head.readUInt16LE(22),
    sampleRate: head.readUInt32LE(24),
    width: head.readUInt16LE(34) / 8,
  };
}
