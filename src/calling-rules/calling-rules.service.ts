// Outbound calling rules of an org: its calling window (when scheduled calls may be placed) and
// its do-not-call list (numbers never called).
//
// Invariants:
// - No window: calls go at any time. A window is an IANA zone, ISO weekdays and local hours; an
//   unknown zone is a 400 naming the field. Owners and admins set or clear it; everyone reads it.
//   Setting or clearing it drops, in the same transaction, the deferrals the old window gave the
//   org's pending calls: each is due again at its own due time, checked against the new window.
// - A listed number is never called: scheduling a call to it answers 409
//   number_on_do_not_call_list; adding it cancels, in the same transaction, every pending call of
//   the org to it (each cancellation audited); the dispatcher refuses it at claim time, for a call
//   scheduled in a race with the add.
// - A CSV import is all or nothing: any bad line refuses the whole file, naming the first 100 bad
//   lines (the detail counts them all: the answer stays small for a file of 5,000 bad lines).
// - Every change is audited in its own transaction.
import { requirePermission } from '../access/permissions.ts';
import { type Principal, tenantOf } from '../access/principal.ts';
import { recordAct } from '../audit/audit.ts';
import type { Database } from '../db/database.ts';
import type { DoNotCallNumber, OrgCallingWindow } from '../db/schema.ts';
import { type Tx, withTenant, withTenantRead } from '../db/tenant.ts';
import { AppError, notFound } from '../http/errors.ts';
import { newId } from '../http/ids.ts';
import { decodeCursor, page } from '../http/pagination.ts';
import type { RequestMeta } from '../http/request-meta.ts';
import * as repo from './calling-rules.repository.ts';
import { parseDoNotCallCsv, reasonProblem } from './csv.ts';
import { type CallingWindowInput, DO_NOT_CALL_REASON, validateWindow } from './rules.ts';
import { formatClock } from './window.ts';

export interface CallingWindowView {
  time_zone: string;
  days: number[];
  start: string;
  end: string;
  updated_by: string | null;
  updated_at: string;
}

export function toWindowView(w: OrgCallingWindow): CallingWindowView {
  return {
    time_zone: w.time_zone,
    days: w.days.map(Number),
    start: formatClock(w.start_minute),
    end: formatClock(w.end_minute),
    updated_by: w.updated_by,
    updated_at: w.updated_at.toISOString(),
  };
}

export function toNumberView(n: DoNotCallNumber) {
  return {
    id: n.id,
    number: n.number,
    reason: n.reason,
    added_by: n.added_by,
    created_at: n.created_at.toISOString(),
  };
}

export function createCallingRulesService(database: Database) {
  /** Add rows (already valid), cancel the pending calls to the new ones, audit it all. */
  async function addNumbers(
    tx: Tx,
    p: Principal,
    meta: RequestMeta,
    entries: { number: string; reason: string }[],
    via: 'api' | 'csv',
  ) {
    const added = await repo.insertNumbers(
      tx,
      entries.map((e) => ({
        id: newId(),
        org_id: p.orgId,
        number: e.number,
        reason: e.reason,
        added_by: p.userId,
      })),
    );
    const cancelled = await repo.cancelPendingCallsTo(
      tx,
      p.orgId,
      added.map((r) => r.number),
      DO_NOT_CALL_REASON,
    );
    // One entry per number added by hand; an import is one entry with its counts (importCsv).
    for (const row of via === 'api' ? added : []) {
      await recordAct(tx, meta, p, {
        action: 'do_not_call.add',
        target_type: 'do_not_call_number',
        target_id: row.id,
        metadata: {
          number: row.number,
          via,
          calls_cancelled: cancelled.filter((c) => c.to_number === row.number).length,
        },
      });
    }
    for (const call of cancelled) {
      await recordAct(tx, meta, p, {
        action: 'scheduled_call.cancel',
        target_type: 'scheduled_call',
        target_id: call.id,
        metadata: { reason: 'do_not_call', number: call.to_number, owner_id: call.owner_id },
      });
    }
    return { added, cancelled };
  }

  return {
    async getWindow(p: Principal): Promise<CallingWindowView | null> {
      requirePermission(p, 'calling_window:read');
      const row = await withTenantRead(database, tenantOf(p), (tx) => repo.findWindow(tx, p.orgId));
      return row ? toWindowView(row) : null;
    },

    setWindow(p: Principal, input: CallingWindowInput, meta: RequestMeta) {
      requirePermission(p, 'calling_window:manage');
      const w = validateWindow(input);
      return withTenant(database, tenantOf(p), async (tx) => {
        const row = await repo.upsertWindow(tx, { org_id: p.orgId, ...w, updated_by: p.userId });
        await repo.clearWindowDeferrals(tx, p.orgId);
        const view = toWindowView(row);
        await recordAct(tx, meta, p, {
          action: 'calling_window.set',
          target_type: 'org',
          target_id: p.orgId,
          metadata: {
            time_zone: view.time_zone,
            days: view.days.join(','),
            start: view.start,
            end: view.end,
          },
        });
        return view;
      });
    },

    clearWindow(p: Principal, meta: RequestMeta): Promise<void> {
      requirePermission(p, 'calling_window:manage');
      return withTenant(database, tenantOf(p), async (tx) => {
        if (!(await repo.deleteWindow(tx, p.orgId))) throw notFound('calling window');
        await repo.clearWindowDeferrals(tx, p.orgId);
        await recordAct(tx, meta, p, {
          action: 'calling_window.clear',
          target_type: 'org',
          target_id: p.orgId,
        });
      });
    },

    async listNumbers(p: Principal, q: { limit: number; cursor?: string; number?: string }) {
      requirePermission(p, 'do_not_call:read');
      const before = decodeCursor(q.cursor);
      const rows = await withTenantRead(database, tenantOf(p), (tx) =>
        repo.listNumbers(tx, p.orgId, { limit: q.limit + 1, before, number: q.number }),
      );
      return page(rows, q.limit);
    },

    /** Add one number; 409 when it is listed already. Returns it and how many calls it cancelled. */
    addNumber(p: Principal, input: { number: string; reason?: string }, meta: RequestMeta) {
      requirePermission(p, 'do_not_call:manage');
      const problem = reasonProblem(input.reason ?? '');
      if (problem) {
        throw new AppError('validation_failed', 'The reason is not valid', {
          errors: [{ field: 'reason', message: problem }],
        });
      }
      return withTenant(database, tenantOf(p), async (tx) => {
        const { added, cancelled } = await addNumbers(
          tx,
          p,
          meta,
          [{ number: input.number, reason: input.reason ?? '' }],
          'api',
        );
        const row = added[0];
        if (!row) throw new AppError('do_not_call_number_exists');
        return { row, calls_cancelled: cancelled.length };
      });
    },

    removeNumber(p: Principal, id: string, meta: RequestMeta): Promise<void> {
      requirePermission(p, 'do_not_call:manage');
      return withTenant(database, tenantOf(p), async (tx) => {
        const row = await repo.deleteNumber(tx, p.orgId, id);
        if (!row) throw notFound('do-not-call number');
        await recordAct(tx, meta, p, {
          action: 'do_not_call.remove',
          target_type: 'do_not_call_number',
          target_id: row.id,
          metadata: { number: row.number },
        });
      });
    },

    /** All or nothing: any bad line refuses the file (400 naming each line); nothing is written. */
    importCsv(p: Principal, text: string, meta: RequestMeta) {
      requirePermission(p, 'do_not_call:manage');
      const parsed = parseDoNotCallCsv(text);
      if (!parsed.ok) {
        throw new AppError(
          'validation_failed',
          `The file has ${parsed.errors.length} bad line(s); nothing was imported`,
          {
            errors: parsed.errors
              .slice(0, 100)
              .map((e) => ({ field: `line ${e.line}`, message: e.message })),
          },
        );
      }
      return withTenant(database, tenantOf(p), async (tx) => {
        const { added, cancelled } = await addNumbers(tx, p, meta, parsed.entries, 'csv');
        const result = {
          lines: parsed.lines,
          added: added.length,
          already_listed: parsed.entries.length - added.length,
          duplicates_in_file: parsed.duplicates,
          calls_cancelled: cancelled.length,
        };
        await recordAct(tx, meta, p, {
          action: 'do_not_call.import',
          target_type: 'org',
          target_id: p.orgId,
          metadata: result,
        });
        return result;
      });
    },
  };
}

export type CallingRulesService = ReturnType<typeof createCallingRulesService>;
