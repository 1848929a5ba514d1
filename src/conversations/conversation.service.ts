// Conversation use cases for people: list, read, fetch the audio, delete. Members see and delete
// their own conversations; owners, admins and managers every conversation of the org (row-level
// security enforces the same). Devices create conversations by streaming (audio-stream.handler.ts).
import { type FileHandle, open } from 'node:fs/promises';
import { can, requirePermission, seesWholeOrg } from '../access/permissions.ts';
import { type Principal, tenantOf } from '../access/principal.ts';
import { recordAct } from '../audit/audit.ts';
import type { Database } from '../db/database.ts';
import type { Conversation } from '../db/schema.ts';
import { withTenant } from '../db/tenant.ts';
import { AppError, notFound } from '../http/errors.ts';
import { checkWindow, decodeCursor, page } from '../http/pagination.ts';
import type { RequestMeta } from '../http/request-meta.ts';
import * as repo from './conversation.repository.ts';
import { removeAudio } from './recovery.ts';
import { CONTENT_TYPES, conversationFile } from './storage.ts';

export type ConversationQuery = Omit<repo.ConversationFilters, 'before'> & { cursor?: string };

export interface ConversationAudio {
  /**
   * The open file: the caller streams from it and must close it (a stream made with
   * `file.createReadStream()` closes it when it ends or is destroyed).
   */
  file: FileHandle;
  /** The size of the file opened, whatever happens to its path afterwards. */
  size: number;
  contentType: string;
  row: Conversation;
}

const noAudio = () => new AppError('not_found', 'This conversation has no audio file');

function scopeOf(p: Principal): repo.ConversationScope {
  return { orgId: p.orgId, userId: seesWholeOrg(p) ? undefined : p.userId };
}

function canDelete(p: Principal, row: Conversation): boolean {
  return (
    can(p, 'conversations:manage_any') ||
    (can(p, 'conversations:manage_own') && row.user_id === p.userId)
  );
}

export function createConversationService(database: Database, dataDir: string) {
  async function get(p: Principal, id: string): Promise<Conversation> {
    requirePermission(p, 'conversations:read');
    const row = await withTenant(database, tenantOf(p), (tx) =>
      repo.findConversation(tx, scopeOf(p), id),
    );
    if (!row) throw notFound('conversation');
    return row;
  }

  return {
    list(p: Principal, q: ConversationQuery) {
      requirePermission(p, 'conversations:read');
      const { cursor, ...filters } = q;
      const before = decodeCursor(cursor);
      checkWindow(q.since, q.until);
      return withTenant(database, tenantOf(p), async (tx) =>
        page(
          await repo.listConversations(tx, scopeOf(p), { ...filters, before, limit: q.limit + 1 }),
          q.limit,
        ),
      );
    },

    get,

    /**
     * The finished file of a conversation the caller can see, opened. A delete (or the sweep's
     * purge) may unlink the file at any moment after the row was read: opening it here, and
     * streaming from this handle only, means the caller either holds the whole file (an unlinked
     * file stays readable through an open descriptor) or gets the same 404 as for a deleted
     * conversation, never a 500 from a path that vanished between a check and a later open.
     */
    async audio(p: Principal, id: string): Promise<ConversationAudio> {
      const row = await get(p, id);
      if (row.status === 'recording') throw new AppError('conversation_recording');
      // A failed conversation has no usable audio (its file is removed when it fails).
      if (row.status === 'failed') throw noAudio();
      let file: FileHandle;
      try {
        file = await open(conversationFile(dataDir, row), 'r');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw noAudio();
        throw err;
      }
      try {
        const { size } = await file.stat();
        return { file, size, contentType: CONTENT_TYPES[row.codec], row };
      } catch (err) {
        await file.close();
        throw err;
      }
    },

    /**
     * Soft delete, audited in the same transaction. The file is removed once the delete has
     * committed (a recording conversation's, and any the removal missed, by the recovery sweep).
     */
    async remove(p: Principal, id: string, meta: RequestMeta): Promise<void> {
      requirePermission(p, 'conversations:manage_own');
      const row = await withTenant(database, tenantOf(p), async (tx) => {
        const found = await repo.findConversation(tx, scopeOf(p), id);
        if (!found || !canDelete(p, found)) throw notFound('conversation');
        if (!(await repo.softDeleteConversation(tx, scopeOf(p), id)))
          throw notFound('conversation');
        await recordAct(tx, meta, p, {
          action: 'conversation.delete',
          target_type: 'conversation',
          target_id: id,
          metadata: { user_id: found.user_id, client_id: found.client_id },
        });
        return found;
      });
      if (row.status === 'recording') return;
      try {
        await removeAudio(dataDir, row);
        await withTenant(database, tenantOf(p), (tx) => repo.markPurged(tx, id));
      } catch {
        // The recovery sweep removes it later.
      }
    },
  };
}

export type ConversationService = ReturnType<typeof createConversationService>;
