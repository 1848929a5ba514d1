// Twilio's voice webhook: an incoming call (or a dispatched outgoing call being answered). The
// call is logged once, and the answer is TwiML that greets and connects the caller to the agent's
// media stream with a short-lived media token (EdDSA JWT, stream-token.ts) bound to this call, org
// and agent — or, with no
// agent able to take it, a polite message and a hang-up.
import type { Database } from '../db/database.ts';
import type { Agent, CallStatus, Phone } from '../db/schema.ts';
import { releaseIncomingCallSlot, takeIncomingCallSlot } from '../quotas/call-slots.ts';
import type { Quotas } from '../quotas/quotas.service.ts';
import * as log from './call-log.repository.ts';
import { applyCallEvent } from './call-status.ts';
import { isFinal } from './call-transition.ts';
import { orgInService, withOrgService } from './org-service.ts';
import type { CallDirection, MediaTokens } from './stream-token.ts';
import {
  connectToAgentTwiml,
  hangUpTwiml,
  LINES_BUSY_MESSAGE,
  NO_AGENT_MESSAGE,
  NOT_IN_SERVICE_MESSAGE,
  sayAndHangUpTwiml,
} from './twiml.ts';

export interface IncomingCallParams {
  callSid: string;
  from: string;
  to: string;
  status?: CallStatus;
  /** From our own TwiML URL, for calls the dispatcher placed. */
  scheduledCallId?: string;
  dispatchKey?: string;
}

const usable = (a: Agent | undefined): a is Agent => !!a && a.active && a.deleted_at === null;

async function endedMeanwhile(database: Database, orgId: string, callSid: string) {
  const status = await withOrgService(database, orgId, (tx) =>
    log.callStatusNow(tx, orgId, callSid),
  );
  return status !== undefined && isFinal(status);
}

export async function answerCall(
  deps: { database: Database; mediaTokens: MediaTokens; quotas?: Quotas },
  orgId: string,
  p: IncomingCallParams,
): Promise<string> {
  const at = new Date();
  const answer = await withOrgService(deps.database, orgId, async (tx) => {
    await log.lockCall(tx, p.callSid);
    // Suspended since the webhook's owner was looked up: nothing stored, nothing connected.
    if (!(await orgInService(tx, orgId))) return 'suspended' as const;
    const existing = await log.findCallForUpdate(tx, orgId, p.callSid);
    // A call that has ended is answered with a goodbye, never a fresh media token or a live-call
    // slot: a signed voice webhook carries no timestamp, so a captured one can be replayed after
    // the end, when no status callback would give the slot back.
    if (existing && isFinal(existing.status)) {
      return { agent: undefined, direction: existing.direction, ended: true };
    }
    let agent: Agent | undefined;
    let phone: Phone | undefined;
    let scheduledCallId: string | null = null;
    if (p.scheduledCallId) {
      // An outgoing call we placed, now answered: its agent is the scheduled call's.
      const scheduled = await log.scheduledCallById(tx, orgId, p.scheduledCallId);
      if (scheduled) {
        scheduledCallId = scheduled.id;
        agent = await log.agentById(tx, orgId, scheduled.agent_id);
        phone = agent ? await log.phoneById(tx, orgId, agent.phone_id) : undefined;
        if (p.dispatchKey) {
          await log.settleDispatchByCallback(tx, orgId, scheduled.id, p.dispatchKey, p.callSid);
        }
      }
    } else if (existing) {
      // Twilio retried the webhook: answer the same way.
      agent = existing.agent_id ? await log.agentById(tx, orgId, existing.agent_id) : undefined;
    } else {
      phone = await log.activePhoneByNumber(tx, orgId, p.to);
      agent = phone ? await log.activeIncomingAgent(tx, orgId, phone.id) : undefined;
    }
    const direction: CallDirection =
      existing?.direction ?? (scheduledCallId ? 'outbound' : 'inbound');
    if (!existing) {
      await log.insertCallFromWebhook(tx, {
        orgId,
        callSid: p.callSid,
        phone,
        agent,
        scheduledCallId,
        direction,
        from: p.from,
        to: p.to,
      });
    }
    await applyCallEvent(tx, orgId, { callSid: p.callSid, status: p.status ?? 'ringing', at });
    return { agent, direction, ended: false };
  });
  if (answer === 'suspended') return sayAndHangUpTwiml(NOT_IN_SERVICE_MESSAGE);
  const { agent, direction, ended } = answer;
  if (ended) return hangUpTwiml();

  if (!usable(agent) || !agent.media_stream_url) {
    return sayAndHangUpTwiml(NO_AGENT_MESSAGE, agent ?? undefined);
  }
  // The org's live-call quota, checked as the media token is issued (calls we placed hold theirs).
  if (direction === 'inbound') {
    if (!(await takeIncomingCallSlot(deps.quotas, orgId, p.callSid))) {
      return sayAndHangUpTwiml(LINES_BUSY_MESSAGE, agent);
    }
    // The call may have ended (its status callback recorded and released) while the slot was
    // being taken: nothing would give this slot back before its lease, 4 h later. The callback
    // records the end before it releases, so a slot taken after that release sees the end here.
    if (await endedMeanwhile(deps.database, orgId, p.callSid)) {
      await releaseIncomingCallSlot(deps.quotas, orgId, p.callSid);
      return hangUpTwiml();
    }
  }
  const token = await deps.mediaTokens.sign({
    callSid: p.callSid,
    orgId,
    agentId: agent.id,
    direction,
    audience: agent.media_stream_url,
  });
  return connectToAgentTwiml({ ...agent, mediaStreamUrl: agent.media_stream_url }, token);
}
