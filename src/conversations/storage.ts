// Where a conversation's audio lives: DATA_DIR/conversations/<org id>/<conversation id>.wav|.ogg.
// Both ids are the server's own UUIDs (checked here again); nothing a client sends ever becomes
// part of a path.
import { join } from 'node:path';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const CONTENT_TYPES = { pcm: 'audio/wav', opus: 'audio/ogg' } as const;

export function conversationDir(dataDir: string, orgId: string): string {
  if (!UUID.test(orgId)) throw new Error('conversation storage: org id is not a UUID');
  return join(dataDir, 'conversations', orgId);
}

export function conversationFile(
  dataDir: string,
  row: { org_id: string; id: string; codec: 'opus' | 'pcm' },
): string {
  if (!UUID.test(row.id)) throw new Error('conversation storage: id is not a UUID');
  return join(
    conversationDir(dataDir, row.org_id),
    `${row.id}.${row.codec === 'pcm' ? 'wav' : 'ogg'}`,
  );
}
