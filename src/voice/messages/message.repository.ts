// Message log reads for people. Webhooks write messages through
// src/telephony/message-log.repository.ts. Every function takes the caller's transaction first;
// the explicit org filter (and, for members, the owner filter) is defence in depth on top of
// row-level security.
import { type SelectQueryBuilder, sql } from 'kysely';
import { type LogPage, logPage, type Stated } from '../../db/log-page.ts';
import type { DB, Message } from '../../db/schema.ts';
import type { Tx } from '../../db/tenant.ts';

export interface MessageScope {
  orgId: string;
  /** Set for members: only messages of their own phones or messaging agents. */
  ownerId?: string;
}

function scoped(tx: Tx, scope: MessageScope): SelectQueryBuilder<DB, 'messages', Message> {
  let query = tx.selectFrom('messages').selectAll().where('org_id', '=', scope.orgId);
  const ownerId = scope.ownerId;
  if (ownerId) {
    query = query.where((eb) =>
      eb.or([eb('phone_owner_id', '=', ownerId), eb('agent_owner_id', '=', ownerId)]),
    );
  }
  return query;
}

export interface MessageFilters extends LogPage {
  phoneId?: string;
  /** Only texts logged without a phone (a phone-less conversation): `phone_id IS NULL`. */
  phoneless?: boolean;
  direction?: Message['direction'];
  counterpart?: string;
}

export function listMessages(
  tx: Tx,
  scope: MessageScope,
  f: Stated<MessageFilters>,
): Promise<Message[]> {
  let query = scoped(tx, scope).where(logPage('created_at', f));
  if (f.phoneId) query = query.where('phone_id', '=', f.phoneId);
  if (f.phoneless) query = query.where('phone_id', 'is', null);
  if (f.direction) query = query.where('direction', '=', f.direction);
  if (f.counterpart) query = query.where('counterpart', '=', f.counterpart);
  return query.orderBy('id', 'desc').limit(f.limit).execute();
}

export type ConversationRow = Message & { message_count: number | string };

/**
 * One row per (phone, counterpart number): its newest message and how many there are, newest
 * conversation first. The cursor is the newest message's id.
 */
export async function listConversations(
  tx: Tx,
  scope: MessageScope,
  f: { limit: number; before?: string; phoneId?: string },
): Promise<ConversationRow[]> {
  let inner = scoped(tx, scope)
    .distinctOn(['phone_id', 'counterpart'])
    .select(sql<string>`count(*) over (partition by phone_id, counterpart)`.as('message_count'))
    .orderBy('phone_id')
    .orderBy('counterpart')
    .orderBy('id', 'desc');
  if (f.phoneId) inner = inner.where('phone_id', '=', f.phoneId);
  let query = tx.selectFrom(inner.as('last')).selectAll();
  if (f.before) query = query.where('id', '<', f.before);
  return (await query.orderBy('id', 'desc').limit(f.limit).execute()) as ConversationRow[];
}
