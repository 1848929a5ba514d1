// Recording security-relevant acts. Inside a use case, `recordAudit(tx, …)` joins its
// transaction (the act and its record commit together); a failure that rolls its transaction
// back (a wrong password, a replayed token) is recorded on its own with `recordAuditAlone`.
import { type Actor, auditActor } from '../access/actor.ts';
import type { Principal } from '../access/principal.ts';
import type { Database } from '../db/database.ts';
import { type Tx, withSystem } from '../db/tenant.ts';
import type { RequestMeta } from '../http/request-meta.ts';
import { type AuditEntry, insertAudit } from './audit.repository.ts';

export type AuditInput = Omit<AuditEntry, 'ip' | 'user_agent' | 'request_id'>;

function withMeta(meta: RequestMeta, e: AuditInput): AuditEntry {
  // Object.assign, not a spread followed by fields (slow under Node 20's V8: ARCHITECTURE.md,
  // Performance).
  return Object.assign({}, e, {
    ip: meta.ip,
    user_agent: meta.userAgent,
    request_id: meta.requestId,
  });
}

export function recordAudit(tx: Tx, meta: RequestMeta, e: AuditInput): Promise<void> {
  return insertAudit(tx, withMeta(meta, e));
}

/** What a principal did and to what; the entry is theirs, in their org unless it names another. */
export type Act = Pick<AuditInput, 'action' | 'target_type' | 'target_id' | 'metadata'> & {
  org_id?: string;
};

/**
 * An act that succeeded, recorded in the transaction that did it (in the actor's org by default).
 * An act by an API key names the key (`metadata.api_key_id`) beside its creator: after a leak,
 * the log must say which key did what, so that the right one is revoked.
 */
export function recordAct(
  tx: Tx,
  meta: RequestMeta,
  p: Actor & Pick<Principal, 'orgId'>,
  act: Act,
): Promise<void> {
  const entry = Object.assign(
    { org_id: p.orgId },
    auditActor(p),
    { outcome: 'success' as const },
    act,
  );
  if (p.apiKeyId) entry.metadata = Object.assign({}, act.metadata, { api_key_id: p.apiKeyId });
  return recordAudit(tx, meta, entry);
}

/**
 * One success entry per revoked row, each in the row's own org: a revocation that reaches several
 * orgs (an account's keys, the invitations it sent) shows in every org it touched.
 */
export async function recordRevocations<T extends { id: string; org_id: string }>(
  tx: Tx,
  meta: RequestMeta,
  actor: Pick<AuditInput, 'actor_user_id' | 'actor_type'>,
  what: { action: string; target_type: string },
  rows: readonly T[],
  metadata: (row: T) => AuditInput['metadata'],
): Promise<void> {
  for (const row of rows) {
    await recordAudit(tx, meta, {
      org_id: row.org_id,
      ...actor,
      ...what,
      target_id: row.id,
      outcome: 'success',
      metadata: metadata(row),
    });
  }
}

/** On the system path: the entry may belong to an org the caller has no context for yet. */
export function recordAuditAlone(
  database: Database,
  meta: RequestMeta,
  e: AuditInput,
): Promise<void> {
  return withSystem(database, (tx) => insertAudit(tx, withMeta(meta, e)));
}
