// Twilio's call status callback: each (call, status) is applied once — a retry inserts nothing and
// changes nothing — and moves the call row forward (never backwards), setting when it was
// answered and ended and how long it lasted.
import type { Database } from '../db/database.ts';
import type { CallStatus } from '../db/schema.ts';
import type { Tx } from '../db/tenant.ts';
import { endsCall } from '../quotas/call-slots.ts';
import * as log from './call-log.repository.ts';
import { callTransition } from './call-transition.ts';
import { withOrgService } from './org-service.ts';

export interface CallStatusParams {
  callSid: string;
  status: CallStatus;
  from: string;
  to: string;
  /** Twilio's Direction: inbound, outbound-api, outbound-dial. */
  direction?: string;
  durationSeconds?: number;
  /** From our own callback URL, for calls the dispatcher placed. */
  scheduledCallId?: string;
  dispatchKey?: string;
}

/**
 * Record (call, status) once and move the call row. Returns false for a repeat (a retry, or the
 * voice webhook already reported this status). The caller holds the call's lock (lockCall).
 */
export async function applyCallEvent(
  tx: Tx,
  orgId: string,
  e: { callSid: string; status: CallStatus; durationSeconds?: number; at: Date },
): Promise<boolean> {
  if (!(await log.recordCallEvent(tx, orgId, e.callSid, e.status))) return false;
  const row = await log.findCallForUpdate(tx, orgId, e.callSid);
  const patch = row ? callTransition(row, e) : null;
  if (patch) await log.updateCall(tx, orgId, e.callSid, patch);
  return true;
}

/**
 * Which scheduled call and attempt a callback's call belongs to: from our status URL's query when
 * it came back, else from the call log (a status URL set in Twilio's console, a proxy that dropped
 * the query), so that the call's end still frees the attempt's live-call slot. Looked up only for
 * the end of a call placed through the API (Twilio's Direction `outbound-api`, as the dispatcher's
 * calls are): other statuses free nothing, and incoming calls belong to no scheduled call.
 */
export async function callbackAttempt(
  database: Database,
  orgId: string,
  p: {
    callSid: string;
    status: CallStatus;
    direction?: string;
    scheduledCallId?: string;
    dispatchKey?: string;
  },
): Promise<{ scheduledCallId?: string; dispatchKey?: string }> {
  if (p.scheduledCallId || !endsCall(p.status) || p.direction !== 'outbound-api') {
    return { scheduledCallId: p.scheduledCallId, dispatchKey: p.dispatchKey };
  }
  return (
    (await withOrgService(database, orgId, (tx) => log.attemptOfCall(tx, orgId, p.callSid))) ?? {}
  );
}

export function recordCallStatus(
  database: Database,
  orgId: string,
  p: CallStatusParams,
): Promise<'applied' | 'duplicate'> {
  const at = new Date();
  return withOrgService(database, orgId, async (tx) => {
    await log.lockCall(tx, p.callSid);
    // A retry stops here, having changed nothing (the first delivery did all of the below).
    if (!(await log.recordCallEvent(tx, orgId, p.callSid, p.status))) return 'duplicate';
    const scheduled = p.scheduledCallId
      ? await log.scheduledCallById(tx, orgId, p.scheduledCallId)
      : undefined;
    if (scheduled && p.dispatchKey) {
      await log.settleDispatchByCallback(tx, orgId, scheduled.id, p.dispatchKey, p.callSid);
    }
    let row = await log.findCallForUpdate(tx, orgId, p.callSid);
    const link = scheduled && !row?.scheduled_call_id ? { scheduled_call_id: scheduled.id } : {};
    if (!row) {
      // A call not logged yet: the dispatcher has not recorded it (or died first), or an inbound
      // call's voice webhook went elsewhere. Log it from what the callback says.
      const outbound = !!scheduled || (p.direction ?? '').startsWith('outbound');
      const agent = scheduled ? await log.agentById(tx, orgId, scheduled.agent_id) : undefined;
      const phone = agent
        ? await log.phoneById(tx, orgId, agent.phone_id)
        : await log.activePhoneByNumber(tx, orgId, outbound ? p.from : p.to);
      row =
        (await log.insertCallFromWebhook(tx, {
          orgId,
          callSid: p.callSid,
          phone,
          agent,
          scheduledCallId: scheduled?.id ?? null,
          direction: outbound ? 'outbound' : 'inbound',
          from: p.from,
          to: p.to,
        })) ?? (await log.findCallForUpdate(tx, orgId, p.callSid));
    }
    const patch = row
      ? callTransition(row, { status: p.status, durationSeconds: p.durationSeconds, at })
      : null;
    if (patch || Object.keys(link).length > 0) {
      await log.updateCall(tx, orgId, p.callSid, Object.assign({}, patch, link));
    }
    return 'applied';
  });
}
