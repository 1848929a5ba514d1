// Twilio's SMS webhook: the message is logged once (a retry stores nothing new), and the phone's
// messaging agent answers with its auto-reply as <Message> TwiML (logged as an outbound message).
import type { Database } from '../db/database.ts';
import { newId } from '../http/ids.ts';
import { activePhoneByNumber } from './call-log.repository.ts';
import * as log from './message-log.repository.ts';
import { orgInService, withOrgService } from './org-service.ts';
import { smsReplyTwiml, xmlSafe } from './twiml.ts';

export interface IncomingSmsParams {
  messageSid: string;
  from: string;
  to: string;
  body: string;
  numMedia: number;
  status?: string;
}

export async function receiveSms(
  database: Database,
  orgId: string,
  p: IncomingSmsParams,
): Promise<string> {
  const reply = await withOrgService(database, orgId, async (tx) => {
    // Suspended since the webhook's owner was looked up: nothing stored, no reply.
    if (!(await orgInService(tx, orgId))) return null;
    const phone = await activePhoneByNumber(tx, orgId, p.to);
    const agent = phone ? await log.activeMessageAgent(tx, orgId, phone.id) : undefined;
    const inbound = await log.insertMessageIfAbsent(tx, {
      id: newId(),
      org_id: orgId,
      message_sid: p.messageSid,
      phone_id: phone?.id ?? null,
      message_agent_id: agent?.id ?? null,
      phone_owner_id: phone?.owner_id ?? null,
      agent_owner_id: agent?.owner_id ?? null,
      direction: 'inbound',
      from_number: p.from,
      to_number: p.to,
      counterpart: p.from,
      body: p.body,
      num_media: p.numMedia,
      status: p.status ?? 'received',
      in_reply_to: null,
    });
    // A retry (Twilio retries only when it did not get our answer) answers what the first
    // delivery answered, as logged: the agent's reply may have changed or appeared since, and
    // answering from it sent a text the log never showed.
    if (!inbound) return log.loggedReplyTo(tx, orgId, p.messageSid);
    // Logged as sent: without what TwiML cannot carry.
    const text = agent?.auto_reply?.trim() ? xmlSafe(agent.auto_reply) : null;
    if (text?.trim()) {
      await log.insertReply(tx, {
        id: newId(),
        org_id: orgId,
        message_sid: null,
        phone_id: phone?.id ?? null,
        message_agent_id: agent?.id ?? null,
        phone_owner_id: phone?.owner_id ?? null,
        agent_owner_id: agent?.owner_id ?? null,
        direction: 'outbound',
        from_number: p.to,
        to_number: p.from,
        counterpart: p.from,
        body: text,
        num_media: 0,
        status: 'replied',
        in_reply_to: inbound.id,
      });
    }
    return text?.trim() ? text : null;
  });
  return smsReplyTwiml(reply);
}
