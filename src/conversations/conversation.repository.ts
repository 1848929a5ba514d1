// Conversation rows. Every function takes the caller's transaction first; the explicit org filter
// (and, for members, the user filter) is defence in depth on top of row-level security.
import { sql } from 'kysely';
import { type LogPage, logPage } from '../db/log-page.ts';
import type { Conversation, ConversationStatus } from '../db/schema.ts';
import type { Tx } from '../db/tenant.ts';

export type NewConversation = Pick<
  Conversation,
  | 'id'
  | 'org_id'
  | 'user_id'
  | 'device_id'
  | 'client_id'
  | 'device_name'
  | 'codec'
  | 'sample_rate'
  | 'channels'
>;

export async function insertConversation(tx: Tx, row: NewConversation): Promise<void> {
  await tx.insertInto('conversations').values(row).execute();
}

/**
 * What one conversation costs beyond its audio bytes in the org's storage account: its file's
 * header and last block, its row. Counting it is what bounds a loop of empty or tiny
 * conversations (audio-start, audio-stop, again): their audio bytes alone sum to nearly nothing
 * while each leaves a row and a file.
 */
export const CONVERSATION_OVERHEAD_BYTES = 4096;

/**
 * The storage one org's conversations (not deleted) hold: their audio bytes plus
 * CONVERSATION_OVERHEAD_BYTES each. Live rows count with the bytes of their last heartbeat.
 * One aggregate over the partial index conversations_org_list_idx (org_id … WHERE deleted_at
 * IS NULL). The caller's context must see the whole org (RLS hides a member's colleagues' rows).
 * audio-start reads it through a per-org cache (org-storage.ts), not once per start.
 */
export async function storedAudioBytes(tx: Tx, orgId: string): Promise<number> {
  const row = await tx
    .selectFrom('conversations')
    .select(
      sql<string>`coalesce(sum(bytes), 0) + count(*) * ${CONVERSATION_OVERHEAD_BYTES}::int8`.as(
        'stored',
      ),
    )
    .where('org_id', '=', orgId)
    .where('deleted_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.stored);
}

/** A live stream's progress; also proves its writer is alive (heartbeat_at). */
export async function recordProgress(
  tx: Tx,
  id: string,
  p: { bytes: number; durationMs: number },
): Promise<void> {
  await tx
    .updateTable('conversations')
    .set({ bytes: p.bytes, duration_ms: p.durationMs, heartbeat_at: sql`now()` })
    .where('id', '=', id)
    .where('status', '=', 'recording')
    .execute();
}

export interface Finalisation {
  status: Exclude<ConversationStatus, 'recording'>;
  endReason: string;
  bytes: number;
  durationMs: number;
  /**
   * When the audio ended (a file's mtime: the app host's clock); the database's now() when
   * unknown. Written within [started_at, now()] of the database's clock (see below).
   */
  endedAt?: Date;
}

/**
 * Ends a recording row; false when it was not recording any more (finalised by someone else).
 * `ended_at` is kept between the row's `started_at` and the database's now(): an `endedAt` read
 * from the app host's clock (the recovery sweep's file mtime) may be skewed from the database's,
 * which set `started_at`, and a conversation must never end before it started (a negative
 * duration) or after it was finalised.
 */
export async function finaliseConversation(tx: Tx, id: string, f: Finalisation): Promise<boolean> {
  const res = await tx
    .updateTable('conversations')
    .set({
      status: f.status,
      end_reason: f.endReason.slice(0, 200),
      bytes: f.bytes,
      duration_ms: f.durationMs,
      ended_at: f.endedAt
        ? sql<Date>`greatest(started_at, least(${f.endedAt}::timestamptz, now()))`
        : sql<Date>`greatest(started_at, now())`,
      updated_at: sql<Date>`now()`,
    })
    .where('id', '=', id)
    .where('status', '=', 'recording')
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/**
 * Notes why a stream ended, and the bytes its writer accepted, on a row its writer leaves
 * `recording` for the recovery sweep (its file could not be read back for a transient reason):
 * the sweep finalises it with this reason, as the writer would have, not as a stream never
 * finalised; and when it cannot size the kept file either, it counts these bytes (never fewer
 * than the last heartbeat's), not the last heartbeat's alone, which undercount the org's storage.
 */
export async function noteEndReason(
  tx: Tx,
  id: string,
  endReason: string,
  acceptedBytes: number,
): Promise<void> {
  await tx
    .updateTable('conversations')
    .set({
      end_reason: endReason.slice(0, 200),
      bytes: sql<string>`greatest(bytes, ${acceptedBytes}::bigint)`,
      updated_at: sql<Date>`now()`,
    })
    .where('id', '=', id)
    .where('status', '=', 'recording')
    .execute();
}

/**
 * Recording rows whose writer has not been heard of for `staleSeconds` (any org: system path), in
 * id order after `afterId`: the sweep pages past rows it had to leave `recording`.
 */
export function staleRecordings(tx: Tx, staleSeconds: number, limit: number, afterId?: string) {
  let q = tx
    .selectFrom('conversations')
    .selectAll()
    .where('status', '=', 'recording')
    .where('heartbeat_at', '<', sql<Date>`now() - make_interval(secs => ${staleSeconds})`);
  if (afterId !== undefined) q = q.where('id', '>', afterId);
  return q.orderBy('id').limit(limit).execute();
}

/** Deleted conversations whose file is still on disk (any org: system path). */
export function unpurgedDeletions(tx: Tx, limit: number) {
  return tx
    .selectFrom('conversations')
    .select(['id', 'org_id', 'codec'])
    .where('deleted_at', 'is not', null)
    .where('audio_purged_at', 'is', null)
    .where('status', '!=', 'recording')
    .orderBy('deleted_at')
    .limit(limit)
    .execute();
}

export async function markPurged(tx: Tx, id: string): Promise<void> {
  await tx
    .updateTable('conversations')
    .set({ audio_purged_at: sql<Date>`now()` })
    .where('id', '=', id)
    .where('deleted_at', 'is not', null)
    .execute();
}

export interface ConversationScope {
  orgId: string;
  /** Set for members: only their own conversations. */
  userId?: string;
}

export interface ConversationFilters extends LogPage {
  userId?: string;
  deviceId?: string;
  clientId?: string;
  status?: ConversationStatus;
}

function visible(tx: Tx, scope: ConversationScope) {
  let q = tx
    .selectFrom('conversations')
    .selectAll()
    .where('org_id', '=', scope.orgId)
    .where('deleted_at', 'is', null);
  if (scope.userId) q = q.where('user_id', '=', scope.userId);
  return q;
}

export function listConversations(
  tx: Tx,
  scope: ConversationScope,
  f: ConversationFilters,
): Promise<Conversation[]> {
  let q = visible(tx, scope).where(logPage('started_at', f));
  if (f.userId) q = q.where('user_id', '=', f.userId);
  if (f.deviceId) q = q.where('device_id', '=', f.deviceId);
  if (f.clientId) q = q.where('client_id', '=', f.clientId);
  if (f.status) q = q.where('status', '=', f.status);
  return q.orderBy('id', 'desc').limit(f.limit).execute();
}

export function findConversation(
  tx: Tx,
  scope: ConversationScope,
  id: string,
): Promise<Conversation | undefined> {
  return visible(tx, scope).where('id', '=', id).executeTakeFirst();
}

/** Soft delete; false when there was no visible live row. */
export async function softDeleteConversation(
  tx: Tx,
  scope: ConversationScope,
  id: string,
): Promise<boolean> {
  let q = tx
    .updateTable('conversations')
    .set({ deleted_at: sql<Date>`now()`, updated_at: sql<Date>`now()` })
    .where('org_id', '=', scope.orgId)
    .where('id', '=', id)
    .where('deleted_at', 'is', null);
  if (scope.userId) q = q.where('user_id', '=', scope.userId);
  const res = await q.executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}
