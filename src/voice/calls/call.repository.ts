// Call log reads for people. Webhooks and the dispatcher write calls through
// src/telephony/call-log.repository.ts. Every function takes the caller's transaction first; the
// explicit org filter (and, for members, the owner filter) is defence in depth on top of
// row-level security.
import type { SelectQueryBuilder } from 'kysely';
import { fixedQuery } from '../../db/fixed-query.ts';
import { type LogPage, logPage, type Stated } from '../../db/log-page.ts';
import type { Call, CallStatus, DB } from '../../db/schema.ts';
import type { Tx } from '../../db/tenant.ts';

/** Statuses of a call still going on. */
export const LIVE_STATUSES: readonly CallStatus[] = [
  'queued',
  'initiated',
  'ringing',
  'in-progress',
];
/** Twilio ends every call within 4 hours: a "live" call older than that lost its final callback. */
const LIVE_MAX_AGE_MS = 4 * 3600_000;

export interface CallScope {
  orgId: string;
  /** Set for members: only calls of their own phones or agents. */
  ownerId?: string;
}

function scoped(tx: Tx, scope: CallScope): SelectQueryBuilder<DB, 'calls', Call> {
  let query = tx.selectFrom('calls').selectAll().where('org_id', '=', scope.orgId);
  const ownerId = scope.ownerId;
  if (ownerId) {
    query = query.where((eb) =>
      eb.or([eb('phone_owner_id', '=', ownerId), eb('agent_owner_id', '=', ownerId)]),
    );
  }
  return query;
}

export interface CallFilters extends LogPage {
  status?: CallStatus;
  direction?: Call['direction'];
  phoneId?: string;
  agentId?: string;
  number?: string;
}

const callPage = fixedQuery(
  (db, f: CallScope & Omit<CallFilters, 'since' | 'until'> & { since?: Date; until?: Date }) => {
    let query = scoped(db, f).where(logPage('started_at', f));
    if (f.status) query = query.where('status', '=', f.status);
    if (f.direction) query = query.where('direction', '=', f.direction);
    if (f.phoneId) query = query.where('phone_id', '=', f.phoneId);
    if (f.agentId) query = query.where('agent_id', '=', f.agentId);
    const number = f.number;
    if (number) {
      query = query.where((eb) =>
        eb.or([eb('from_number', '=', number), eb('to_number', '=', number)]),
      );
    }
    return query.orderBy('id', 'desc').limit(f.limit);
  },
);

export function listCalls(tx: Tx, scope: CallScope, f: Stated<CallFilters>): Promise<Call[]> {
  return callPage(tx, {
    orgId: scope.orgId,
    ownerId: scope.ownerId,
    before: f.before,
    since: f.since ? new Date(f.since) : undefined,
    until: f.until ? new Date(f.until) : undefined,
    status: f.status,
    direction: f.direction,
    phoneId: f.phoneId,
    agentId: f.agentId,
    number: f.number,
    limit: f.limit,
  });
}

export function listLiveCalls(
  tx: Tx,
  scope: CallScope,
  f: { limit: number; before?: string },
): Promise<Call[]> {
  let query = scoped(tx, scope)
    .where('status', 'in', LIVE_STATUSES)
    .where('started_at', '>', new Date(Date.now() - LIVE_MAX_AGE_MS));
  if (f.before) query = query.where('id', '<', f.before);
  return query.orderBy('id', 'desc').limit(f.limit).execute();
}

export function findCallBySid(
  tx: Tx,
  scope: CallScope,
  callSid: string,
): Promise<Call | undefined> {
  return scoped(tx, scope).where('call_sid', '=', callSid).executeTakeFirst();
}
