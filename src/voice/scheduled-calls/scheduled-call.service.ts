// Scheduled outgoing calls: people create, list and cancel them; the dispatcher
// (src/telephony/dispatcher.ts) places them. Status: pending → dispatching → dispatched | failed,
// or pending → cancelled.
import {
  canManageRow,
  canSeeRow,
  requirePermission,
  seesAllRows,
} from '../../access/permissions.ts';
import { type Principal, tenantOf } from '../../access/principal.ts';
import type { Config } from '../../config.ts';
import type { Database } from '../../db/database.ts';
import type { ScheduledCall, ScheduledCallStatus } from '../../db/schema.ts';
import { withTenant } from '../../db/tenant.ts';
import { AppError, notFound } from '../../http/errors.ts';
import { newId } from '../../http/ids.ts';
import { decodeCursor, page } from '../../http/pagination.ts';
import { findPhone } from '../phones/phone.repository.ts';
import { usableAgent } from '../refs.ts';
import * as repo from './scheduled-call.repository.ts';

export interface ScheduledCallInput {
  agent_id: string;
  to: string;
  scheduled_at: string;
}

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

export function createScheduledCallService(
  database: Database,
  config: Pick<Config, 'scheduledCalls'>,
) {
  const notFoundError = () => notFound('scheduled call');
  return {
    create(p: Principal, input: ScheduledCallInput): Promise<ScheduledCall> {
      requirePermission(p, 'scheduled_calls:create');
      const at = new Date(input.scheduled_at);
      checkTime(at);
      return withTenant(database, tenantOf(p), async (tx) => {
        const agent = await usableAgent(tx, p, input.agent_id);
        if (agent.direction !== 'outgoing' || !agent.active) {
          throw new AppError('validation_failed', 'The agent cannot place calls', {
            errors: [{ field: 'agent_id', message: 'must name an active outgoing agent' }],
          });
        }
        // Calls go out only from the org's own active, verified numbers (the dispatcher checks
        // again when it places the call): an unverified number may be someone else's.
        const phone = await findPhone(tx, p.orgId, agent.phone_id);
        if (phone?.verification_status !== 'verified') {
          throw new AppError('phone_not_verified', "The agent's phone number is not verified yet");
        }
        if (!phone.active)
          throw new AppError('phone_inactive', "The agent's phone number is not active");
        // One org cannot fill the shared queue: a cap on what waits, counted for the whole org.
        const waiting = await repo.lockAndCountPending(tx);
        if (waiting >= config.scheduledCalls.maxPending) {
          throw new AppError(
            'scheduled_call_limit_reached',
            `At most ${config.scheduledCalls.maxPending} scheduled calls may wait at once`,
          );
        }
        return repo.insertScheduledCall(tx, {
          id: newId(),
          org_id: p.orgId,
          owner_id: p.userId,
          agent_id: agent.id,
          to_number: input.to,
          scheduled_at: at,
        });
      });
    },

    list(
      p: Principal,
      q: {
        limit: number;
        cursor?: string;
        owner_id?: string;
        agent_id?: string;
        status?: ScheduledCallStatus;
        since?: string;
        until?: string;
      },
    ) {
      requirePermission(p, 'scheduled_calls:read');
      const before = decodeCursor(q.cursor);
      return withTenant(database, tenantOf(p), async (tx) => {
        const rows = await repo.listScheduledCalls(tx, p.orgId, {
          limit: q.limit + 1,
          before,
          // Reads follow the role, as RLS does (members: their own rows; this keeps the query honest).
          ownerId: seesAllRows(p, 'scheduled_calls') ? q.owner_id : p.userId,
          agentId: q.agent_id,
          status: q.status,
          since: q.since,
          until: q.until,
        });
        return page(rows, q.limit);
      });
    },

    async get(p: Principal, id: string): Promise<ScheduledCall> {
      requirePermission(p, 'scheduled_calls:read');
      const row = await withTenant(database, tenantOf(p), (tx) =>
        repo.findScheduledCall(tx, p.orgId, id),
      );
      // Another member's row answers exactly like a missing one: no existence oracle.
      if (!row || !canSeeRow(p, 'scheduled_calls', row.owner_id)) throw notFoundError();
      return row;
    },

    cancel(p: Principal, id: string): Promise<ScheduledCall> {
      requirePermission(p, 'scheduled_calls:manage_own');
      return withTenant(database, tenantOf(p), async (tx) => {
        const row = await repo.findScheduledCall(tx, p.orgId, id);
        if (!row || !canManageRow(p, 'scheduled_calls', row.owner_id)) throw notFoundError();
        const cancelled = await repo.cancelPending(tx, p.orgId, id, false);
        if (!cancelled) throw new AppError('scheduled_call_not_pending', `It is ${row.status}`);
        return cancelled;
      });
    },

    /** Cancel a pending call and hide it; a finished one is only hidden. In flight: 409. */
    remove(p: Principal, id: string): Promise<void> {
      requirePermission(p, 'scheduled_calls:manage_own');
      return withTenant(database, tenantOf(p), async (tx) => {
        const row = await repo.findScheduledCall(tx, p.orgId, id);
        if (!row || !canManageRow(p, 'scheduled_calls', row.owner_id)) throw notFoundError();
        if (await repo.cancelPending(tx, p.orgId, id, true)) return;
        if (await repo.softDeleteFinished(tx, p.orgId, id)) return;
        throw new AppError('scheduled_call_not_pending', 'The call is being placed right now');
      });
    },
  };
}

export type ScheduledCallService = ReturnType<typeof createScheduledCallService>;
