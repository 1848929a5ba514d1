// Message-log writes and the lookups the SMS webhook needs, run in the org service context
// (withOrgService): row-level security confines them to the webhook's org; the org filter
// repeats it.
import type { Message, MessageAgent } from '../db/schema.ts';
import type { Tx } from '../db/tenant.ts';

export type NewMessage = Omit<Message, 'created_at' | 'body' | 'num_media'> & {
  body: string;
  num_media: number;
};

export function activeMessageAgent(
  tx: Tx,
  orgId: string,
  phoneId: string,
): Promise<MessageAgent | undefined> {
  return tx
    .selectFrom('message_agents')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('phone_id', '=', phoneId)
    .where('active', '=', true)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
}

/** Insert unless this MessageSid was logged already (Twilio retries); undefined on a repeat. */
export function insertMessageIfAbsent(tx: Tx, row: NewMessage): Promise<Message | undefined> {
  return tx
    .insertInto('messages')
    .values(row)
    .onConflict((oc) => oc.column('message_sid').doNothing())
    .returningAll()
    .executeTakeFirst();
}

export async function insertReply(tx: Tx, row: NewMessage): Promise<void> {
  await tx
    .insertInto('messages')
    .values(row)
    .onConflict((oc) => oc.column('in_reply_to').doNothing())
    .execute();
}

/**
 * The body of the reply logged for the inbound message `messageSid`, or null when none was sent:
 * what a retry of that message's webhook answers again.
 */
export async function loggedReplyTo(
  tx: Tx,
  orgId: string,
  messageSid: string,
): Promise<string | null> {
  const row = await tx
    .selectFrom('messages as inbound')
    .innerJoin('messages as reply', 'reply.in_reply_to', 'inbound.id')
    .select('reply.body')
    .where('inbound.org_id', '=', orgId)
    .where('inbound.message_sid', '=', messageSid)
    .executeTakeFirst();
  return row?.body ?? null;
}
