// Call-log writes and the lookups webhooks need, run in the org service context (withOrgService):
// row-level security confines them to the org the webhook belongs to; the org filter repeats it.

import { lockNameForTransaction } from '../db/advisory-lock.ts';
import { liveRows, orgRow } from '../db/owned-rows.ts';
import type { Agent, Call, CallStatus, Phone, ScheduledCall } from '../db/schema.ts';
import type { Tx } from '../db/tenant.ts';
import { newId } from '../http/ids.ts';
import type { CallPatch } from './call-transition.ts';
import { phoneByNumber } from './number-verification.repository.ts';

export type NewCall = Omit<Call, 'created_at' | 'updated_at' | 'started_at'> & {
  started_at?: Date;
};

/** The advisory-lock space of lockCall (any constant of its own; see migrations 0007 and 0014). */
const CALL_LOCK_SPACE = 70_260_030;

/**
 * The call's own lock, held until the transaction ends, and taken before anything else by every
 * transaction that writes a call: the voice webhook, a status callback, the dispatcher recording
 * what it placed. Each of them goes on to take the call's row, its (call, status) event and its
 * scheduled call, in orders of their own; Twilio sends the answer webhook and the "answered"
 * callback of a placed call at the same moment, and two such transactions deadlocked —
 * PostgreSQL aborted one, a 500: no TwiML for an answered call, or a final callback lost with the
 * live-call slot it should have freed. Behind this lock they run one at a time per call.
 */
export async function lockCall(tx: Tx, callSid: string): Promise<void> {
  await lockNameForTransaction(tx, CALL_LOCK_SPACE, callSid);
}

/** Insert unless a row with this CallSid exists (Twilio retries, webhook/dispatcher races). */
export function insertCallIfAbsent(tx: Tx, row: NewCall): Promise<Call | undefined> {
  return tx
    .insertInto('calls')
    .values(row)
    .onConflict((oc) => oc.column('call_sid').doNothing())
    .returningAll()
    .executeTakeFirst();
}

/**
 * A call a webhook sees before anything logged it: queued, linked to the phone and agent it
 * reached (and their owners, who may read it). undefined when a row with its CallSid exists.
 */
export function insertCallFromWebhook(
  tx: Tx,
  c: {
    orgId: string;
    callSid: string;
    phone: Pick<Phone, 'id' | 'owner_id'> | undefined;
    agent: Pick<Agent, 'id' | 'owner_id'> | undefined;
    scheduledCallId: string | null;
    direction: Call['direction'];
    from: string;
    to: string;
  },
): Promise<Call | undefined> {
  return insertCallIfAbsent(tx, {
    id: newId(),
    org_id: c.orgId,
    call_sid: c.callSid,
    phone_id: c.phone?.id ?? null,
    agent_id: c.agent?.id ?? null,
    scheduled_call_id: c.scheduledCallId,
    phone_owner_id: c.phone?.owner_id ?? null,
    agent_owner_id: c.agent?.owner_id ?? null,
    direction: c.direction,
    from_number: c.from,
    to_number: c.to,
    status: 'queued',
    answered_at: null,
    ended_at: null,
    duration_seconds: null,
  });
}

export function findCallForUpdate(tx: Tx, orgId: string, callSid: string) {
  return tx
    .selectFrom('calls')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('call_sid', '=', callSid)
    .forUpdate()
    .executeTakeFirst();
}

/** The call's status as committed now (no lock): whether it ended meanwhile. */
export async function callStatusNow(
  tx: Tx,
  orgId: string,
  callSid: string,
): Promise<CallStatus | undefined> {
  const row = await tx
    .selectFrom('calls')
    .select('status')
    .where('org_id', '=', orgId)
    .where('call_sid', '=', callSid)
    .executeTakeFirst();
  return row?.status;
}

export async function updateCall(
  tx: Tx,
  orgId: string,
  callSid: string,
  patch: CallPatch & { scheduled_call_id?: string },
): Promise<void> {
  await tx
    .updateTable('calls')
    // Object.assign, not a spread followed by a field: every status callback passes here
    // (ARCHITECTURE.md, Performance).
    .set(Object.assign({}, patch, { updated_at: new Date() }))
    .where('org_id', '=', orgId)
    .where('call_sid', '=', callSid)
    .execute();
}

/** True the first time (call, status) is seen; false for Twilio's retries. */
export async function recordCallEvent(
  tx: Tx,
  orgId: string,
  callSid: string,
  status: string,
): Promise<boolean> {
  const row = await tx
    .insertInto('call_events')
    .values({ call_sid: callSid, status, org_id: orgId })
    .onConflict((oc) => oc.columns(['call_sid', 'status']).doNothing())
    .returning('call_sid')
    .executeTakeFirst();
  return row !== undefined;
}

/** The org's number that routes: active and verified (an unverified number is inert). */
export function activePhoneByNumber(
  tx: Tx,
  orgId: string,
  number: string,
): Promise<Phone | undefined> {
  return phoneByNumber(tx, orgId, number, 'routing');
}

export function activeIncomingAgent(
  tx: Tx,
  orgId: string,
  phoneId: string,
): Promise<Agent | undefined> {
  return tx
    .selectFrom('agents')
    .selectAll()
    .where(liveRows(orgId))
    .where('phone_id', '=', phoneId)
    .where('direction', '=', 'incoming')
    .where('active', '=', true)
    .executeTakeFirst();
}

/** The agent whatever its state (deleted or inactive too): callers decide what that means. */
export function agentById(tx: Tx, orgId: string, id: string): Promise<Agent | undefined> {
  return tx.selectFrom('agents').selectAll().where(orgRow(orgId, id)).executeTakeFirst();
}

export function phoneById(tx: Tx, orgId: string, id: string): Promise<Phone | undefined> {
  return tx.selectFrom('phones').selectAll().where(orgRow(orgId, id)).executeTakeFirst();
}

export function scheduledCallById(
  tx: Tx,
  orgId: string,
  id: string,
): Promise<ScheduledCall | undefined> {
  return tx.selectFrom('scheduled_calls').selectAll().where(orgRow(orgId, id)).executeTakeFirst();
}

/**
 * The scheduled call and the attempt (dispatch key) that placed this call, as the call log and
 * the settled row say: for a callback that lost the query our status URL carries.
 */
export async function attemptOfCall(
  tx: Tx,
  orgId: string,
  callSid: string,
): Promise<{ scheduledCallId: string; dispatchKey: string } | undefined> {
  const row = await tx
    .selectFrom('calls as c')
    .innerJoin('scheduled_calls as s', (j) =>
      j.onRef('s.org_id', '=', 'c.org_id').onRef('s.id', '=', 'c.scheduled_call_id'),
    )
    .select(['s.id', 's.dispatch_key'])
    .where('c.org_id', '=', orgId)
    .where('c.call_sid', '=', callSid)
    .where('s.call_sid', '=', callSid)
    .executeTakeFirst();
  return row?.dispatch_key ? { scheduledCallId: row.id, dispatchKey: row.dispatch_key } : undefined;
}

/**
 * A callback of a dispatched call proves which attempt placed it: finish that attempt (even if
 * its instance died before recording it, or its lease expired and it went back to the queue),
 * so the call is not placed again. A later attempt has a new key and is left alone.
 */
export async function settleDispatchByCallback(
  tx: Tx,
  orgId: string,
  scheduledCallId: string,
  dispatchKey: string,
  callSid: string,
): Promise<boolean> {
  const res = await tx
    .updateTable('scheduled_calls')
    .set({
      status: 'dispatched',
      call_sid: callSid,
      dispatched_at: new Date(),
      lease_expires_at: null,
      last_error: null,
      updated_at: new Date(),
    })
    .where('org_id', '=', orgId)
    .where('id', '=', scheduledCallId)
    .where('dispatch_key', '=', dispatchKey)
    .where('status', 'in', ['dispatching', 'pending'])
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/** The call a media token names, as the caller's tenant context lets it see (members: their own). */
export function callBySid(
  tx: Tx,
  orgId: string,
  callSid: string,
): Promise<Pick<Call, 'call_sid' | 'agent_id' | 'status'> | undefined> {
  return tx
    .selectFrom('calls')
    .select(['call_sid', 'agent_id', 'status'])
    .where('org_id', '=', orgId)
    .where('call_sid', '=', callSid)
    .executeTakeFirst();
}
