// Scheduled outgoing calls: people create, list and cancel them; the dispatcher
// (src/telephony/dispatcher.ts) places them. Status: pending → dispatching → dispatched | failed,
// or pending → cancelled.
//
// Invariants:
// - Who scheduled a call to which number, and who moved it to another number or time, is audited
//   in the transaction that writes it: `scheduled_call.create` (number, agent, time, zone) and
//   `scheduled_call.update` (the fields sent, old → new). A refused create or change records
//   nothing. Hiding a finished call (DELETE) is `scheduled_call.delete`: it takes the call out of
//   every list, so the log is what still says it existed.
// - Every cancel is audited (`scheduled_call.cancel`) in the transaction that cancels: a person's
//   here (POST …/cancel, and DELETE of a pending call), with reason `user`; the dispatcher's and
//   the do-not-call list's with their own reasons. A refused cancel (404, 409) records nothing.
// - last_error says why the call is where it is. A person's cancel clears it (the call was
//   cancelled by them, not because of it); so does a new time, which replaces the wait (a retry's
//   backoff, a quota's wait) the error explained. A new number or zone alone keeps it: the call
//   still waits for that backoff. A placed call clears it (src/telephony/dispatch.repository.ts).
// - A new time also gives back the attempts spent (attempts = 0): the rescheduled call has every
//   try a new one has. A new number or zone alone keeps them. The last attempt's dispatch key
//   stays (its late callback still settles the call); the next claim mints a new one.
import { type OwnedListQuery, ownedResource } from '../../access/owned-resource.ts';
import { type Principal, tenantOf } from '../../access/principal.ts';
import { type Act, recordAct } from '../../audit/audit.ts';
import {
  assertNotListed,
  dispatchAt,
  findCallingWindow,
  validateRecipientZone,
} from '../../calling-rules/rules.ts';
import type { Config } from '../../config.ts';
import type { Database } from '../../db/database.ts';
import type { Agent, Phone, ScheduledCall, ScheduledCallStatus } from '../../db/schema.ts';
import { type Tx, withTenantRead } from '../../db/tenant.ts';
import { AppError } from '../../http/errors.ts';
import { checkWindow } from '../../http/pagination.ts';
import type { RequestMeta } from '../../http/request-meta.ts';
import { findAgentEvenDeleted } from '../agents/agent.repository.ts';
import { findPhone, findPhoneEvenDeleted } from '../phones/phone.repository.ts';
import { usableAgent } from '../refs.ts';
import * as repo from './scheduled-call.repository.ts';

export interface ScheduledCallInput {
  agent_id: string;
  to: string;
  scheduled_at: string;
  /** IANA zone the org's calling window applies in for this call (default: the window's). */
  recipient_time_zone?: string | null;
}

/** A scheduled call with when it will actually be placed (calling window applied). */
export type ScheduledCallView = ScheduledCall & { dispatch_at: Date | null };

/** How far ahead a call may be scheduled. */
const MAX_AHEAD_MS = 366 * 86_400_000;

function checkTime(at: Date, now = Date.now()): void {
  const fieldError = (message: string) =>
    new AppError('validation_failed', 'The scheduled time is not valid', {
      errors: [{ field: 'scheduled_at', message }],
    });
  if (at.getTime() <= now) throw fieldError('must be in the future');
  if (at.getTime() > now + MAX_AHEAD_MS) throw fieldError('must be within a year');
}

/**
 * A person's cancel, in its transaction: who (the key too, if one acted), the call, its number and
 * its owner (a manager may cancel a member's call). `deleted`: by DELETE, which also hides it.
 */
function recordCancel(
  tx: Tx,
  meta: RequestMeta,
  p: Principal,
  call: Pick<ScheduledCall, 'id' | 'to_number' | 'owner_id'>,
  deleted: boolean,
): Promise<void> {
  return recordAct(tx, meta, p, {
    action: 'scheduled_call.cancel',
    target_type: 'scheduled_call',
    target_id: call.id,
    metadata: { reason: 'user', number: call.to_number, owner_id: call.owner_id, deleted },
  });
}

/**
 * Scheduling, changing or hiding a call, in its transaction: who (the key too, if one acted), the
 * call, and what an admin needs to see where the org's calls go.
 */
function recordCallAct(
  tx: Tx,
  meta: RequestMeta,
  p: Principal,
  action: 'scheduled_call.create' | 'scheduled_call.update' | 'scheduled_call.delete',
  id: string,
  metadata: Act['metadata'],
): Promise<void> {
  return recordAct(tx, meta, p, { action, target_type: 'scheduled_call', target_id: id, metadata });
}

/**
 * What a PATCH did: the fields sent (`changed`, as the agents' entries name them), old → new for
 * each (`old_<field>` beside the new value), the number the call goes to now, and its owner (a
 * manager may change a member's call).
 */
function changeMetadata(
  patch: Partial<Omit<ScheduledCallInput, 'agent_id'>>,
  before: ScheduledCall,
  after: ScheduledCall,
): Act['metadata'] {
  const m: Act['metadata'] = {
    changed: Object.keys(patch).sort().join(' '),
    number: after.to_number,
    owner_id: after.owner_id,
  };
  if (patch.to !== undefined) m.old_number = before.to_number;
  if (patch.scheduled_at !== undefined) {
    m.old_scheduled_at = before.scheduled_at.toISOString();
    m.scheduled_at = after.scheduled_at.toISOString();
  }
  if (patch.recipient_time_zone !== undefined) {
    m.old_recipient_time_zone = before.recipient_time_zone;
    m.recipient_time_zone = after.recipient_time_zone;
  }
  return m;
}

const NOT_CALLING = () =>
  new AppError('validation_failed', 'The agent cannot place calls', {
    errors: [{ field: 'agent_id', message: 'must name an active outgoing agent' }],
  });

/**
 * An outgoing agent places calls only with a media stream to connect them to: without one the
 * callee answers, hears that no agent is available, and the call ends (src/telephony).
 */
function assertAgentCanCall(agent: Pick<Agent, 'direction' | 'active' | 'media_stream_url'>) {
  if (agent.direction !== 'outgoing' || !agent.active) throw NOT_CALLING();
  if (!agent.media_stream_url) {
    throw new AppError('validation_failed', 'The agent has nowhere to connect the call', {
      errors: [
        {
          field: 'agent_id',
          message: 'names an agent without a media_stream_url (give the agent one first)',
        },
      ],
    });
  }
}

/**
 * Calls go out only from the org's own active, verified numbers (the dispatcher checks again when
 * it places the call): an unverified number may be someone else's. `phone` absent or deleted: a
 * deleted number is not one waiting for its verification, so say what to change.
 */
function assertPhoneCanCall(
  phone: Pick<Phone, 'verification_status' | 'active' | 'deleted_at'> | undefined,
) {
  if (!phone || phone.deleted_at) {
    throw new AppError(
      'validation_failed',
      "The agent's phone number was deleted: give the agent another number",
      { errors: [{ field: 'agent_id', message: 'names an agent whose phone number was deleted' }] },
    );
  }
  if (phone.verification_status !== 'verified') {
    throw new AppError('phone_not_verified', "The agent's phone number is not verified yet");
  }
  if (!phone.active) throw new AppError('phone_inactive', "The agent's phone number is not active");
}

/**
 * The agent a new scheduled call goes out through: one the caller can use, active and outgoing,
 * on an active, verified number of the org.
 */
async function agentThatCanCall(tx: Tx, p: Principal, agentId: string) {
  const agent = await usableAgent(tx, p, agentId);
  assertAgentCanCall(agent);
  assertPhoneCanCall(await findPhone(tx, p.orgId, agent.phone_id));
  return agent;
}

/**
 * A change of a pending call: the answer must not promise a call the dispatcher will refuse, so
 * its agent and number are judged again as at scheduling (they may have been deleted or
 * deactivated since). Judged as the caller's context sees them, deleted rows included: one it
 * does not show at all (someone demoted since scheduling through another member's agent) is not
 * judged here; the dispatcher judges every call when it is due.
 */
async function assertStillCanCall(tx: Tx, p: Principal, agentId: string) {
  const agent = await findAgentEvenDeleted(tx, p.orgId, agentId);
  if (!agent) return;
  if (agent.deleted_at) {
    throw new AppError(
      'validation_failed',
      "The call's agent was deleted: cancel the call and schedule a new one",
      { errors: [{ field: 'agent_id', message: 'names an agent that was deleted' }] },
    );
  }
  assertAgentCanCall(agent);
  const phone = await findPhoneEvenDeleted(tx, p.orgId, agent.phone_id);
  if (phone) assertPhoneCanCall(phone);
}

export function createScheduledCallService(
  database: Database,
  config: Pick<Config, 'scheduledCalls'>,
) {
  const scheduledCalls = ownedResource(database, {
    resource: 'scheduled_calls',
    noun: 'scheduled call',
    find: repo.findScheduledCall,
  });
  /** Each call with its dispatch_at, under the org's calling window as it is now. */
  async function withDispatchAt(p: Principal, rows: ScheduledCall[]): Promise<ScheduledCallView[]> {
    const window = rows.some((r) => r.status === 'pending')
      ? await withTenantRead(database, tenantOf(p), (tx) => findCallingWindow(tx, p.orgId))
      : undefined;
    const now = new Date();
    return rows.map((r) => ({ ...r, dispatch_at: dispatchAt(r, window, now) }));
  }
  const one = async (p: Principal, row: ScheduledCall) => (await withDispatchAt(p, [row]))[0]!;

  return {
    async create(
      p: Principal,
      input: ScheduledCallInput,
      meta: RequestMeta,
    ): Promise<ScheduledCallView> {
      const at = new Date(input.scheduled_at);
      let zone: string | null = null;
      const row = await scheduledCalls.create(
        p,
        async (tx, owned) => {
          const agent = await agentThatCanCall(tx, p, input.agent_id);
          // A listed number is never called (the dispatcher checks again at claim time).
          await assertNotListed(tx, p.orgId, input.to);
          // One org cannot fill the shared queue: a cap on what waits, counted for the whole org.
          const waiting = await repo.lockAndCountPending(tx);
          if (waiting >= config.scheduledCalls.maxPending) {
            throw new AppError(
              'scheduled_call_limit_reached',
              `At most ${config.scheduledCalls.maxPending} scheduled calls may wait at once`,
            );
          }
          const inserted = await repo.insertScheduledCall(tx, {
            ...owned,
            agent_id: agent.id,
            to_number: input.to,
            scheduled_at: at,
            recipient_time_zone: zone,
          });
          await recordCallAct(tx, meta, p, 'scheduled_call.create', inserted.id, {
            number: inserted.to_number,
            agent_id: inserted.agent_id,
            scheduled_at: inserted.scheduled_at.toISOString(),
            recipient_time_zone: inserted.recipient_time_zone,
          });
          return inserted;
        },
        () => {
          checkTime(at);
          zone = validateRecipientZone(input.recipient_time_zone);
        },
      );
      return one(p, row);
    },

    async list(
      p: Principal,
      q: OwnedListQuery & {
        agent_id?: string;
        status?: ScheduledCallStatus;
        since?: string;
        until?: string;
      },
    ) {
      const result = await scheduledCalls.list(p, q, (tx, scope) => {
        // Here, once the permission is checked: a caller who may not list learns nothing else.
        checkWindow(q.since, q.until);
        return repo.listScheduledCalls(tx, p.orgId, {
          ...scope,
          agentId: q.agent_id,
          status: q.status,
          since: q.since,
          until: q.until,
        });
      });
      return { items: await withDispatchAt(p, result.items), next_cursor: result.next_cursor };
    },

    async get(p: Principal, id: string): Promise<ScheduledCallView> {
      return one(p, await scheduledCalls.get(p, id));
    },

    /**
     * Change a pending call: its number (not on the do-not-call list), its time (in the future),
     * its recipient's zone (null: the window's). Once the dispatcher has it: 409.
     */
    async update(
      p: Principal,
      id: string,
      patch: Partial<Omit<ScheduledCallInput, 'agent_id'>>,
      meta: RequestMeta,
    ): Promise<ScheduledCallView> {
      const at = patch.scheduled_at === undefined ? undefined : new Date(patch.scheduled_at);
      let zone: string | null | undefined;
      const row = await scheduledCalls.update(
        p,
        id,
        patch,
        async (tx, current) => {
          if (current.status !== 'pending') {
            throw new AppError('scheduled_call_not_pending', `It is ${current.status}`);
          }
          // The call must still be able to go, as when it was scheduled.
          await assertStillCanCall(tx, p, current.agent_id);
          if (patch.to !== undefined) await assertNotListed(tx, p.orgId, patch.to);
          // The values the audit entry names as old, read under the row lock the UPDATE takes
          // anyway: a concurrent PATCH cannot change them in between.
          const before = await repo.lockPending(tx, p.orgId, id);
          if (!before) throw new AppError('scheduled_call_not_pending', 'It is being placed');
          const updated = await repo.updatePending(tx, p.orgId, id, {
            ...(patch.to !== undefined ? { to_number: patch.to } : {}),
            ...(at ? { scheduled_at: at } : {}),
            ...(zone !== undefined ? { recipient_time_zone: zone } : {}),
          });
          if (!updated) throw new AppError('scheduled_call_not_pending', 'It is being placed');
          await recordCallAct(
            tx,
            meta,
            p,
            'scheduled_call.update',
            id,
            changeMetadata(patch, before, updated),
          );
          return updated;
        },
        () => {
          if (at) checkTime(at);
          if (patch.recipient_time_zone !== undefined) {
            zone = validateRecipientZone(patch.recipient_time_zone);
          }
        },
      );
      return one(p, row);
    },

    async cancel(p: Principal, id: string, meta: RequestMeta): Promise<ScheduledCallView> {
      const cancelled = await scheduledCalls.manage(p, id, async (tx, row) => {
        const done = await repo.cancelPending(tx, p.orgId, id, false);
        if (!done) throw new AppError('scheduled_call_not_pending', `It is ${row.status}`);
        await recordCancel(tx, meta, p, done, false);
        return done;
      });
      return { ...cancelled, dispatch_at: null };
    },

    /**
     * Cancel a pending call and hide it (audited as the cancel, `deleted: true`); a finished one is
     * only hidden (audited as `scheduled_call.delete`). In flight: 409.
     */
    remove(p: Principal, id: string, meta: RequestMeta): Promise<void> {
      return scheduledCalls.manage(p, id, async (tx) => {
        const cancelled = await repo.cancelPending(tx, p.orgId, id, true);
        if (cancelled) return recordCancel(tx, meta, p, cancelled, true);
        const hidden = await repo.softDeleteFinished(tx, p.orgId, id);
        if (hidden) {
          return recordCallAct(tx, meta, p, 'scheduled_call.delete', id, {
            number: hidden.to_number,
            status: hidden.status,
            owner_id: hidden.owner_id,
            call_sid: hidden.call_sid,
          });
        }
        throw new AppError('scheduled_call_not_pending', 'The call is being placed right now');
      });
    },
  };
}

export type ScheduledCallService = ReturnType<typeof createScheduledCallService>;
