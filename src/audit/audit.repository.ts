// The audit trail: append-only (the app role may only SELECT and INSERT; a trigger refuses
// UPDATE/DELETE). Writes join the caller's transaction so an act and its record commit together.

import type { AuditLog } from '../db/schema.ts';
import { sendWithNext, type Tx } from '../db/tenant.ts';
import { newId } from '../http/ids.ts';

export interface AuditEntry {
  org_id: string | null;
  actor_user_id: string | null;
  actor_type: AuditLog['actor_type'];
  action: string;
  target_type?: string | null;
  target_id?: string | null;
  outcome: 'success' | 'failure';
  ip?: string | null;
  user_agent?: string | null;
  request_id?: string | null;
  /** Context only: never a password, token, code or secret. */
  metadata?: Record<string, string | number | boolean | null>;
}

/** The entry joins the caller's transaction; it rides with its next statement (sendWithNext). */
export async function insertAudit(tx: Tx, e: AuditEntry): Promise<void> {
  await sendWithNext(
    tx,
    tx.insertInto('audit_logs').values({
      id: newId(),
      org_id: e.org_id,
      actor_user_id: e.actor_user_id,
      actor_type: e.actor_type,
      action: e.action,
      target_type: e.target_type ?? null,
      target_id: e.target_id ?? null,
      outcome: e.outcome,
      ip: e.ip ?? null,
      user_agent: e.user_agent?.slice(0, 512) ?? null,
      request_id: e.request_id ?? null,
      metadata: JSON.stringify(e.metadata ?? {}),
    }),
  );
}

/** One org's trail, or (`orgId` null) the platform's: the entries of acts in no org. */
export function listAudit(
  tx: Tx,
  orgId: string | null,
  f: {
    limit: number;
    before?: string;
    action?: string;
    actorUserId?: string;
    outcome?: 'success' | 'failure';
    from?: Date;
    to?: Date;
  },
): Promise<AuditLog[]> {
  let q =
    orgId === null
      ? tx.selectFrom('audit_logs').selectAll().where('org_id', 'is', null)
      : tx.selectFrom('audit_logs').selectAll().where('org_id', '=', orgId);
  if (f.before) q = q.where('id', '<', f.before);
  if (f.action)
    q = f.action.endsWith('.*')
      ? q.where('action', 'like', `${f.action.slice(0, -2).replace(/[\\%_]/g, (c) => `\\${c}`)}.%`)
      : q.where('action', '=', f.action);
  if (f.actorUserId) q = q.where('actor_user_id', '=', f.actorUserId);
  if (f.outcome) q = q.where('outcome', '=', f.outcome);
  if (f.from) q = q.where('created_at', '>=', f.from);
  if (f.to) q = q.where('created_at', '<', f.to);
  return q.orderBy('id', 'desc').limit(f.limit).execute();
}
