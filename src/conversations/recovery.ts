// The recovery sweep: conversations whose writer stopped without finalising them (the process
// died, the machine lost power) are finalised from their files, and files of deleted
// conversations are removed. It runs when the app is ready and then every minute.
//
// - A `recording` row is the sweep's only when its heartbeat (refreshed every 30 s by the
//   instance writing it, until the row is final: a slow salvage after a disk failure included)
//   is older than three heartbeats: on PostgreSQL with several instances another instance may
//   be writing it right now. Under PGlite one process owns the database (DATA_DIR's lock), so
//   at start every `recording` row is left over and is swept at once.
// - A WAV file gets its header's sizes from its length (cut down to whole sample frames); an Ogg
//   file is cut after its last whole page with a correct CRC, which is then marked end of stream.
//   The row becomes `interrupted` with the bytes and duration found. A file that was read and
//   holds nothing usable (a torn WAV header, an Ogg file short of its two header pages), or no
//   file at all, makes the row `failed` and the file is removed: a `failed` conversation has no
//   audio (its /audio answers 404), never a file no player can open.
// - A file that could not be read for a transient reason (EMFILE, ENFILE, EIO, EBUSY, EAGAIN,
//   EINTR, ENOMEM, ESTALE, ETIMEDOUT, at open or during the repair), or an unusable file whose
//   removal failed for such a reason, is kept and its row left `recording`: the error says nothing about the
//   audio, and removing it destroyed a whole recording over a transient error. The sweep logs it
//   and tries again at its next run, for at most GIVE_UP_MS after the row's last heartbeat. A live
//   recording that leaves its row so notes why its stream ended on it (`<reason>; storage
//   failed`) and the bytes it accepted, and the sweep finalises the row with that reason, as the
//   recording would have (and counts those bytes if it cannot size the file either).
//   Any other failure (EACCES, EPERM, EROFS, EISDIR, a header the repair cannot use…) does not go
//   away by retrying, and neither does a transient one past that bound: the row becomes `failed`
//   with an end_reason naming the error, and the file is KEPT (an error never removes audio; /audio
//   answers 404 for it like any `failed` row, and deleting the conversation removes it), so no
//   row stays `recording` (/audio 409) forever. Its `bytes` are the kept file's size, so the org's
//   storage total counts what it keeps (unreadableFinalisation). A live recording whose disk failed mid-stream
//   (recording.ts) is finalised through the same `salvageAudio`, so its row, too, says what the
//   file holds, or is left `recording` for the sweep when the error was transient.
// - Deleting a conversation removes its file right after the delete commits; a file that
//   survived (a crash in between, a failed unlink) is removed here and the row marked purged.
import { open, stat, unlink } from 'node:fs/promises';
import type { FastifyBaseLogger } from 'fastify';
import type { Database } from '../db/database.ts';
import type { Conversation } from '../db/schema.ts';
import { withSystem } from '../db/tenant.ts';
import * as repo from './conversation.repository.ts';
import { OGG_FLAG_EOS, scanOgg, withEndOfStream } from './ogg-opus.ts';
import { conversationFile } from './storage.ts';
import {
  pcmDurationMs,
  readWavHeader,
  WAV_HEADER_BYTES,
  wavHeader,
  wholeFrameBytes,
} from './wav.ts';

const BATCH = 100;

export interface RecoveryDeps {
  database: Database;
  dataDir: string;
  log: FastifyBaseLogger;
}

export interface Repaired {
  /** What the size limit counts (recording.ts): WAV data bytes, or Ogg pages after the headers. */
  bytes: number;
  durationMs: number;
  /** The file's last modification: when its audio stopped arriving. */
  endedAt: Date;
}

type AudioRow = Pick<Conversation, 'codec' | 'sample_rate' | 'channels'>;

async function repairWav(path: string, row: AudioRow): Promise<Repaired | null> {
  const file = await open(path, 'r+');
  try {
    const { size, mtime } = await file.stat();
    const head = Buffer.alloc(WAV_HEADER_BYTES);
    await file.read(head, 0, WAV_HEADER_BYTES, 0);
    const format = (size >= WAV_HEADER_BYTES ? readWavHeader(head) : null) ?? {
      sampleRate: row.sample_rate,
      channels: row.channels,
      width: 2,
    };
    if (size < WAV_HEADER_BYTES) return null;
    const dataBytes = wholeFrameBytes(format, size - WAV_HEADER_BYTES);
    await file.truncate(WAV_HEADER_BYTES + dataBytes);
    await file.write(wavHeader(format, dataBytes), 0, WAV_HEADER_BYTES, 0);
    return { bytes: dataBytes, durationMs: pcmDurationMs(format, dataBytes), endedAt: mtime };
  } finally {
    await file.close();
  }
}

async function repairOgg(path: string): Promise<Repaired | null> {
  const file = await open(path, 'r+');
  try {
    const { mtime } = await file.stat();
    const scan = await scanOgg(async (offset, length) => {
      const buf = Buffer.alloc(length);
      const { bytesRead } = await file.read(buf, 0, length, offset);
      return buf.subarray(0, bytesRead);
    });
    if (scan.pages < 2 || !scan.lastPage) return null;
    await file.truncate(scan.validBytes);
    const last = scan.lastPage;
    if (scan.pages > 2 && !(last.flags & OGG_FLAG_EOS)) {
      const page = Buffer.alloc(last.length);
      await file.read(page, 0, last.length, last.offset);
      await file.write(withEndOfStream(page), 0, last.length, last.offset);
    }
    return {
      bytes: scan.audioBytes,
      durationMs: Number(scan.lastGranule / 48n),
      endedAt: mtime,
    };
  } finally {
    await file.close();
  }
}

const isMissing = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

/** Errors that may go away by themselves (descriptors, a busy or failing disk, memory). */
const TRANSIENT = new Set([
  'EMFILE',
  'ENFILE',
  'EIO',
  'EBUSY',
  'EAGAIN',
  'EINTR',
  'ENOMEM',
  'ESTALE',
  'ETIMEDOUT',
]);

/** The error's code (ENOENT, EACCES…), or its name for an exception without one. */
function errorCode(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (typeof code === 'string') return code;
  return err instanceof Error ? err.name : 'error';
}

/** How long after its last heartbeat the sweep retries a row whose file errs transiently. */
export const GIVE_UP_MS = 24 * 60 * 60 * 1000;

/**
 * What `salvageAudio` found:
 * - `repaired`: the file now plays and holds `audio`;
 * - `unusable`: no file, or one read and found to hold no usable audio (removed);
 * - `unreadable`: the file could not be read or repaired, or (unusable) could not be removed; it
 *   is kept, untouched beyond what the repair had done. `transient` (a code in TRANSIENT): the row
 *   must stay `recording` and be tried again; otherwise retrying cannot help and the row is
 *   finalised `failed`, naming `code`, with the file still kept. `keptBytes`: the kept file's
 *   size on disk (0 when it is gone), null when even its size could not be read.
 */
export type Salvage =
  | { outcome: 'repaired'; audio: Repaired }
  | { outcome: 'unusable' }
  | {
      outcome: 'unreadable';
      err: unknown;
      code: string;
      transient: boolean;
      unusable: boolean;
      keptBytes: number | null;
    };

/** A kept file's size on disk: 0 when it is gone, null when its size cannot be read either. */
async function sizeOnDisk(path: string): Promise<number | null> {
  try {
    return (await stat(path)).size;
  } catch (err) {
    return isMissing(err) ? 0 : null;
  }
}

/** The `unreadable` salvage of the file at `path` after `err`: its code, and the kept size. */
async function unreadable(
  path: string,
  err: unknown,
  unusable: boolean,
): Promise<Extract<Salvage, { outcome: 'unreadable' }>> {
  const code = errorCode(err);
  const keptBytes = await sizeOnDisk(path);
  return { outcome: 'unreadable', err, code, transient: TRANSIENT.has(code), unusable, keptBytes };
}

/**
 * Makes the file of a conversation whose writer stopped early playable from what reached the
 * disk, and answers what it then holds. Only a file that was read and found unusable is removed,
 * so that a `failed` row never serves bytes no player can open; an error reading it removes
 * nothing (a recording is never destroyed by an error that says nothing about its bytes). The
 * repair is idempotent, so an `unreadable` file can be salvaged again later. The caller must be
 * the file's only writer: the recording that failed, after its sink closed, or the sweep for a
 * row whose writer went silent.
 */
export async function salvageAudio(
  path: string,
  row: AudioRow & { id: string },
  log: FastifyBaseLogger,
): Promise<Salvage> {
  let repaired: Repaired | null;
  try {
    repaired = row.codec === 'pcm' ? await repairWav(path, row) : await repairOgg(path);
  } catch (err) {
    if (isMissing(err)) return { outcome: 'unusable' };
    log.error({ err, conversation_id: row.id }, 'conversation file could not be read; kept');
    return unreadable(path, err, false);
  }
  if (repaired) return { outcome: 'repaired', audio: repaired };
  try {
    await unlink(path);
  } catch (err) {
    if (!isMissing(err)) {
      // Finalising it `failed` now would leave the file on disk for good (the purge only takes
      // deleted rows): like an unreadable file, the row waits for a removal that succeeds.
      log.error({ err, conversation_id: row.id }, 'unusable conversation file not removed');
      return unreadable(path, err, true);
    }
  }
  return { outcome: 'unusable' };
}

/**
 * The `failed` finalisation of a row whose file errs for good: the file is kept, so the row's
 * `bytes` are what it keeps on disk, which the org's storage total (AUDIO_MAX_ORG_BYTES) counts:
 * the file's whole size (it cannot be read, so no header is told apart), or, when even its size
 * cannot be read, `lastKnownBytes` (the sweep: the row's bytes, its last heartbeat's or, when its
 * writer left it `recording`, the bytes that writer accepted: noteEndReason; a live recording: the
 * bytes it accepted). A kept file never counts 0 (it escaped the org's bound).
 */
export function unreadableFinalisation(
  salvage: Extract<Salvage, { outcome: 'unreadable' }>,
  prefix: string,
  lastKnownBytes: number,
): repo.Finalisation {
  const what = salvage.unusable ? 'unusable file not removed' : 'file unreadable';
  return {
    status: 'failed',
    endReason: `${prefix}${what} (${salvage.code})`,
    bytes: salvage.keptBytes ?? lastKnownBytes,
    durationMs: 0,
  };
}

/**
 * Finalises one stale row from its file; true only when this call finalised it (false when the
 * row is left `recording` for the next sweep, or was finalised meanwhile by its writer or another
 * instance: the repository's status guard).
 */
async function recoverOne(deps: RecoveryDeps, row: Conversation): Promise<boolean> {
  const salvage = await salvageAudio(conversationFile(deps.dataDir, row), row, deps.log);
  // A writer that ended its stream but could not read its file back (a transient error) left
  // why it ended, and the bytes it accepted (noteEndReason): the row is finalised as that writer
  // would have finalised it.
  const ended = row.end_reason;
  let f: repo.Finalisation;
  if (salvage.outcome === 'unreadable') {
    const silentFor = Date.now() - new Date(row.heartbeat_at).getTime();
    if (salvage.transient && silentFor < GIVE_UP_MS) {
      deps.log.warn(
        { conversation_id: row.id, code: salvage.code },
        'conversation not recovered: its file could not be read or removed; the next sweep tries again',
      );
      return false;
    }
    f = unreadableFinalisation(salvage, ended ? `${ended}: ` : 'recovered: ', Number(row.bytes));
  } else if (salvage.outcome === 'repaired') {
    f = {
      status: 'interrupted',
      endReason: ended ?? 'recovered: the stream was never finalised',
      ...salvage.audio,
    };
  } else {
    f = {
      status: 'failed',
      endReason: ended ?? 'recovered: no usable audio file',
      bytes: 0,
      durationMs: 0,
    };
  }
  const finalised = await withSystem(deps.database, (tx) =>
    repo.finaliseConversation(tx, row.id, f),
  );
  if (!finalised) return false;
  deps.log.warn(
    { conversation_id: row.id, status: f.status, end_reason: f.endReason },
    'conversation recovered',
  );
  return true;
}

/** Removes a deleted conversation's file (missing is fine). */
export async function removeAudio(
  dataDir: string,
  row: Pick<Conversation, 'id' | 'org_id' | 'codec'>,
) {
  try {
    await unlink(conversationFile(dataDir, row));
  } catch (err) {
    if (!isMissing(err)) throw err;
  }
}

export interface SweepResult {
  recovered: number;
  purged: number;
}

/**
 * The last sweep asked for in this process, by data folder (running, or queued behind the one
 * running). Two sweeps at once would repair the same file at once (both truncating an Ogg file and
 * rewriting its last page, one from a scan the other had already changed), so they run one after
 * another. A sweep asked for with the same `staleSeconds` as the last one joins it: the minute's
 * timer firing while a long sweep still runs. One asked for with other options runs after it: a
 * `staleSeconds` 0 sweep that joined a 90 s one answered without having taken every row. Across
 * instances (PostgreSQL) rows are not claimed: see ARCHITECTURE.md.
 */
const running = new Map<string, { staleSeconds: number; sweep: Promise<SweepResult> }>();

/**
 * One sweep; `staleSeconds` 0 takes every recording row (only when no other writer can exist).
 * Asked while one with the same `staleSeconds` runs (or waits) for the same data folder, it
 * answers that sweep's result; with other options, it runs once that sweep has ended.
 */
export function sweepConversations(deps: RecoveryDeps, staleSeconds: number): Promise<SweepResult> {
  const last = running.get(deps.dataDir);
  if (last?.staleSeconds === staleSeconds) return last.sweep;
  const before = last ? last.sweep.then(noop, noop) : Promise.resolve();
  const entry = {
    staleSeconds,
    sweep: before
      .then(() => sweepOnce(deps, staleSeconds))
      .finally(() => {
        if (running.get(deps.dataDir) === entry) running.delete(deps.dataDir);
      }),
  };
  running.set(deps.dataDir, entry);
  return entry.sweep;
}

const noop = () => {};

async function sweepOnce(deps: RecoveryDeps, staleSeconds: number): Promise<SweepResult> {
  let recovered = 0;
  // By id, after the last row seen: a row left `recording` (its file unreadable) comes back to
  // every query, and a batch of them would otherwise be read again forever.
  let after: string | undefined;
  for (;;) {
    const rows = await withSystem(deps.database, (tx) =>
      repo.staleRecordings(tx, staleSeconds, BATCH, after),
    );
    for (const row of rows) {
      if (await recoverOne(deps, row)) recovered += 1;
    }
    after = rows.at(-1)?.id;
    if (rows.length < BATCH) break;
  }
  let purged = 0;
  for (;;) {
    const rows = await withSystem(deps.database, (tx) => repo.unpurgedDeletions(tx, BATCH));
    const before = purged;
    for (const row of rows) {
      try {
        await removeAudio(deps.dataDir, row);
      } catch (err) {
        deps.log.error({ err, conversation_id: row.id }, 'deleted conversation file not removed');
        continue;
      }
      await withSystem(deps.database, (tx) => repo.markPurged(tx, row.id));
      purged += 1;
    }
    // A batch whose files all failed would come back the same: try again at the next sweep.
    if (rows.length < BATCH || purged === before) break;
  }
  return { recovered, purged };
}
