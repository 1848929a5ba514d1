// The recovery sweep: conversations whose writer stopped without finalising them (the process
// died, the machine lost power) are finalised from their files, and files of deleted
// conversations are removed. It runs when the app is ready and then every minute.
//
// - A `recording` row is the sweep's only when its heartbeat (refreshed every 30 s by the
//   instance writing it) is older than three heartbeats: on PostgreSQL with several instances
//   another instance may be writing it right now. Under PGlite one process owns the database
//   (DATA_DIR's lock), so at start every `recording` row is left over and is swept at once.
// - A WAV file gets its header's sizes from its length (cut down to whole sample frames); an Ogg
//   file is cut after its last whole page with a correct CRC, which is then marked end of stream.
//   The row becomes `interrupted` with the bytes and duration found; without a usable file,
//   `failed`.
// - Deleting a conversation removes its file right after the delete commits; a file that
//   survived (a crash in between, a failed unlink) is removed here and the row marked purged.
import { open, unlink } from 'node:fs/promises';
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

interface Repaired {
  bytes: number;
  durationMs: number;
  endedAt: Date;
}

async function repairWav(path: string, row: Conversation): Promise<Repaired | null> {
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

async function recoverOne(deps: RecoveryDeps, row: Conversation): Promise<void> {
  const path = conversationFile(deps.dataDir, row);
  let repaired: Repaired | null = null;
  try {
    repaired = row.codec === 'pcm' ? await repairWav(path, row) : await repairOgg(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      deps.log.error({ err, conversation_id: row.id }, 'conversation file could not be repaired');
    }
  }
  await withSystem(deps.database, (tx) =>
    repo.finaliseConversation(
      tx,
      row.id,
      repaired
        ? {
            status: 'interrupted',
            endReason: 'recovered: the stream was never finalised',
            ...repaired,
          }
        : {
            status: 'failed',
            endReason: 'recovered: no usable audio file',
            bytes: 0,
            durationMs: 0,
          },
    ),
  );
  deps.log.warn(
    { conversation_id: row.id, status: repaired ? 'interrupted' : 'failed' },
    'conversation recovered',
  );
}

/** Removes a deleted conversation's file (missing is fine). */
export async function removeAudio(
  dataDir: string,
  row: Pick<Conversation, 'id' | 'org_id' | 'codec'>,
) {
  try {
    await unlink(conversationFile(dataDir, row));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** One sweep; `staleSeconds` 0 takes every recording row (only when no other writer can exist). */
export async function sweepConversations(
  deps: RecoveryDeps,
  staleSeconds: number,
): Promise<{ recovered: number; purged: number }> {
  let recovered = 0;
  for (;;) {
    const rows = await withSystem(deps.database, (tx) =>
      repo.staleRecordings(tx, staleSeconds, BATCH),
    );
    for (const row of rows) {
      await recoverOne(deps, row);
      recovered += 1;
    }
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
