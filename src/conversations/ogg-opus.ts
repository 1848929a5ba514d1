// Opus in an Ogg container (RFC 3533 pages, RFC 7845 mapping), written as the packets arrive.
//
// - Page 0 holds OpusHead (beginning of stream), page 1 OpusTags; audio pages follow, each made
//   of whole packets only (no packet spans two pages), so every page on disk is complete and a
//   crash loses at most the packets not yet flushed into a page.
// - Granule positions count 48 kHz samples. A device sends bare Opus packets, not their
//   durations, so each packet's duration is read from its TOC byte (RFC 6716 §3.1): the
//   configuration gives the frame size, the frame-count code the number of frames.
// - Pre-skip is 0: the packets come from the device's encoder, whose delay we cannot know; the
//   file plays a few milliseconds of encoder warm-up at its start.

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let j = 0; j < 8; j++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    table[i] = r >>> 0;
  }
  return table;
})();

/** Ogg's CRC-32 (polynomial 0x04c11db7, no reflection, initial value 0, no final xor). */
export function oggCrc(data: Uint8Array): number {
  let crc = 0;
  for (const byte of data)
    crc = ((crc << 8) ^ (CRC_TABLE[((crc >>> 24) ^ byte) & 0xff] ?? 0)) >>> 0;
  return crc >>> 0;
}

export const OGG_FLAG_BOS = 0x02;
export const OGG_FLAG_EOS = 0x04;
const PAGE_HEADER_BYTES = 27;
/** The largest Opus packet (RFC 6716 §3.4: 120 ms of 1275-byte frames is < 8 KB). */
export const MAX_OPUS_PACKET_BYTES = 7680;
/** Samples of 48 kHz audio one packet may hold at most (120 ms). */
const MAX_PACKET_SAMPLES = 5760;
/** Flush a page once it holds this much audio (bounds what a crash can lose). */
const PAGE_MAX_SAMPLES = 48_000;
/** Keep pages small: flush before the body reaches this size. */
const PAGE_MAX_BODY = 16 * 1024;

/** One Ogg page around `packets` (each a whole packet), with its CRC. */
export function oggPage(opts: {
  packets: readonly Uint8Array[];
  granule: bigint;
  serial: number;
  sequence: number;
  flags: number;
}): Buffer {
  const lacing: number[] = [];
  for (const p of opts.packets) {
    for (let left = p.length; ; left -= 255) {
      if (left >= 255) lacing.push(255);
      else {
        lacing.push(left);
        break;
      }
    }
  }
  if (lacing.length > 255) throw new Error('ogg page: too many segments');
  const bodyLength = opts.packets.reduce((n, p) => n + p.length, 0);
  const page = Buffer.alloc(PAGE_HEADER_BYTES + lacing.length + bodyLength);
  page.write('OggS', 0, 'ascii');
  page[4] = 0; // version
  page[5] = opts.flags;
  page.writeBigInt64LE(opts.granule, 6);
  page.writeUInt32LE(opts.serial >>> 0, 14);
  page.writeUInt32LE(opts.sequence >>> 0, 18);
  page.writeUInt32LE(0, 22); // CRC, computed over the page with this field zero
  page[26] = lacing.length;
  Buffer.from(lacing).copy(page, PAGE_HEADER_BYTES);
  let at = PAGE_HEADER_BYTES + lacing.length;
  for (const p of opts.packets) {
    page.set(p, at);
    at += p.length;
  }
  page.writeUInt32LE(oggCrc(page), 22);
  return page;
}

/** RFC 7845 §5.1: the identification header (channel mapping family 0: mono or stereo). */
export function opusHead(channels: number, inputSampleRate: number, preSkip = 0): Buffer {
  const h = Buffer.alloc(19);
  h.write('OpusHead', 0, 'ascii');
  h[8] = 1; // version
  h[9] = channels;
  h.writeUInt16LE(preSkip, 10);
  h.writeUInt32LE(inputSampleRate, 12);
  h.writeInt16LE(0, 16); // output gain
  h[18] = 0; // mapping family
  return h;
}

/** RFC 7845 §5.2: the comment header, with our vendor string and no comments. */
export function opusTags(vendor = 'switchboard'): Buffer {
  const v = Buffer.from(vendor, 'utf8');
  const h = Buffer.alloc(8 + 4 + v.length + 4);
  h.write('OpusTags', 0, 'ascii');
  h.writeUInt32LE(v.length, 8);
  v.copy(h, 12);
  h.writeUInt32LE(0, 12 + v.length);
  return h;
}

/**
 * The duration of one Opus packet in 48 kHz samples, from its TOC byte (RFC 6716 §3.1), or null
 * when the bytes cannot be an Opus packet (empty, a code-3 packet without its frame count, zero
 * frames, more than 120 ms).
 */
export function opusPacketSamples(packet: Uint8Array): number | null {
  const toc = packet[0];
  if (toc === undefined) return null;
  const config = toc >> 3;
  const frameSamples =
    config < 12
      ? [480, 960, 1920, 2880][config & 3] // SILK-only: 10, 20, 40, 60 ms
      : config < 16
        ? [480, 960][config & 1] // hybrid: 10, 20 ms
        : [120, 240, 480, 960][config & 3]; // CELT-only: 2.5, 5, 10, 20 ms
  const code = toc & 3;
  let frames: number;
  if (code === 0) frames = 1;
  else if (code === 1 || code === 2) frames = 2;
  else {
    const count = packet[1];
    if (count === undefined) return null;
    frames = count & 0x3f;
  }
  const samples = frames * (frameSamples ?? 0);
  if (samples === 0 || samples > MAX_PACKET_SAMPLES) return null;
  return samples;
}

/** Bytes of one page holding `bodyBytes` of packets laced in `segments` lacing values. */
function pageBytes(segments: number, bodyBytes: number): number {
  return PAGE_HEADER_BYTES + segments + bodyBytes;
}

/** Lacing values a packet takes: one per 255 bytes, plus the one (< 255) that ends it. */
function segmentsOf(packetBytes: number): number {
  return Math.floor(packetBytes / 255) + 1;
}

/**
 * Builds the pages of one Ogg Opus stream. `start()` answers the two header pages; `add()` a
 * page when the packets it buffered fill one (else null); `finish()` the last page, marked end
 * of stream. Durations come from the caller (opusPacketSamples).
 *
 * `audioBytes` is what the size limit holds: the bytes of the file after its two header pages
 * (page headers and lacing included, not only the packets) if the stream finished now, so a
 * stream of tiny packets cannot put several times its limit on disk.
 */
export class OggOpusWriter {
  private sequence = 0;
  private granule = 0n;
  private pending: Uint8Array[] = [];
  private pendingSamples = 0;
  private pendingBytes = 0;
  private pendingSegments = 0;
  /** Bytes of the audio pages add() returned (those after the two header pages). */
  private emittedAudioBytes = 0;
  private ended = false;

  constructor(
    private readonly serial: number,
    private readonly channels: number,
    private readonly inputSampleRate: number,
  ) {}

  /** 48 kHz samples written so far (flushed or pending). */
  get samples(): bigint {
    return this.granule + BigInt(this.pendingSamples);
  }

  start(): Buffer {
    return Buffer.concat([
      this.page([opusHead(this.channels, this.inputSampleRate)], 0n, OGG_FLAG_BOS),
      this.page([opusTags()], 0n, 0),
    ]);
  }

  /**
   * Bytes of the file after its two header pages if the stream finished now: the audio pages
   * returned so far and the last page `finish()` would return (a bare page header when nothing
   * is pending).
   */
  get audioBytes(): number {
    if (this.ended) return this.emittedAudioBytes;
    return this.emittedAudioBytes + pageBytes(this.pendingSegments, this.pendingBytes);
  }

  /** `audioBytes` once `add(packet, samples)` has run: what a size limit must check. */
  audioBytesWith(packetBytes: number, samples: number): number {
    const segments = segmentsOf(packetBytes);
    let emitted = this.emittedAudioBytes;
    let pendingSegments = this.pendingSegments;
    let pendingBytes = this.pendingBytes;
    let pendingSamples = this.pendingSamples;
    if (this.flushesBefore(segments)) {
      emitted += pageBytes(pendingSegments, pendingBytes);
      pendingSegments = 0;
      pendingBytes = 0;
      pendingSamples = 0;
    }
    pendingSegments += segments;
    pendingBytes += packetBytes;
    pendingSamples += samples;
    if (pendingSamples >= PAGE_MAX_SAMPLES || pendingBytes >= PAGE_MAX_BODY) {
      emitted += pageBytes(pendingSegments, pendingBytes);
      pendingSegments = 0;
      pendingBytes = 0;
    }
    return emitted + pageBytes(pendingSegments, pendingBytes);
  }

  add(packet: Uint8Array, samples: number): Buffer | null {
    const segments = segmentsOf(packet.length);
    let out: Buffer | null = null;
    if (this.flushesBefore(segments)) out = this.flush(0);
    this.pending.push(packet);
    this.pendingSamples += samples;
    this.pendingBytes += packet.length;
    this.pendingSegments += segments;
    if (this.pendingSamples >= PAGE_MAX_SAMPLES || this.pendingBytes >= PAGE_MAX_BODY) {
      out = out ? Buffer.concat([out, this.flush(0)]) : this.flush(0);
    }
    if (out) this.emittedAudioBytes += out.length;
    return out;
  }

  /** A packet of `segments` lacing values does not fit on the pending page. */
  private flushesBefore(segments: number): boolean {
    return this.pending.length > 0 && this.pendingSegments + segments > 255;
  }

  /** The last page (possibly without packets), flagged end of stream. */
  finish(): Buffer {
    const page = this.flush(OGG_FLAG_EOS);
    this.emittedAudioBytes += page.length;
    this.ended = true;
    return page;
  }

  private flush(flags: number): Buffer {
    this.granule += BigInt(this.pendingSamples);
    const page = this.page(this.pending, this.granule, flags);
    this.pending = [];
    this.pendingSamples = 0;
    this.pendingBytes = 0;
    this.pendingSegments = 0;
    return page;
  }

  private page(packets: readonly Uint8Array[], granule: bigint, flags: number): Buffer {
    return oggPage({ packets, granule, serial: this.serial, sequence: this.sequence++, flags });
  }
}

/** What a scan of an Ogg file found: its valid prefix and the last granule position in it. */
export interface OggScan {
  /** Bytes from the start that form whole pages with correct CRCs. */
  validBytes: number;
  pages: number;
  /** Bytes of the pages after the two header pages (what OggOpusWriter.audioBytes counts). */
  audioBytes: number;
  lastGranule: bigint;
  /** Offset and length of the last valid page. */
  lastPage: { offset: number; length: number; flags: number } | null;
}

/** Reads whole pages from `read(offset, length)` until the data ends or a page is torn. */
export async function scanOgg(
  read: (offset: number, length: number) => Promise<Buffer>,
): Promise<OggScan> {
  const scan: OggScan = { validBytes: 0, pages: 0, audioBytes: 0, lastGranule: 0n, lastPage: null };
  for (;;) {
    const offset = scan.validBytes;
    const head = await read(offset, PAGE_HEADER_BYTES);
    if (head.length < PAGE_HEADER_BYTES || head.toString('ascii', 0, 4) !== 'OggS') return scan;
    const segments = head[26] ?? 0;
    const table = await read(offset + PAGE_HEADER_BYTES, segments);
    if (table.length < segments) return scan;
    const bodyLength = table.reduce((n, b) => n + b, 0);
    const length = PAGE_HEADER_BYTES + segments + bodyLength;
    const page = await read(offset, length);
    if (page.length < length) return scan;
    const crc = page.readUInt32LE(22);
    page.writeUInt32LE(0, 22);
    if (oggCrc(page) !== crc) return scan;
    const granule = page.readBigInt64LE(6);
    if (granule >= 0n) scan.lastGranule = granule;
    if (scan.pages >= 2) scan.audioBytes += length;
    scan.pages += 1;
    scan.validBytes = offset + length;
    scan.lastPage = { offset, length, flags: page[5] ?? 0 };
  }
}

/** A copy of `page` with the end-of-stream flag set and its CRC recomputed. */
export function withEndOfStream(page: Buffer): Buffer {
  const out = Buffer.from(page);
  out[5] = (out[5] ?? 0) | OGG_FLAG_EOS;
  out.writeUInt32LE(0, 22);
  out.writeUInt32LE(oggCrc(out), 22);
  return out;
}
