// API keys data access. The caller owns the transaction.
import { sql } from 'kysely';
import type { ApiKey, Role } from '../db/schema.ts';
import type { Tx } from '../db/tenant.ts';

export async function insertApiKey(
  tx: Tx,
  row: Pick<
    ApiKey,
    'id' | 'org_id' | 'created_by' | 'name' | 'prefix' | 'key_hash' | 'expires_at'
  > & {
    scopes: readonly string[];
  },
): Promise<ApiKey> {
  return tx
    .insertInto('api_keys')
    .values({ ...row, scopes: JSON.stringify(row.scopes) })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Every key of the org, live or not, newest first. */
export function listApiKeys(
  tx: Tx,
  orgId: string,
  f: { limit: number; before?: string },
): Promise<ApiKey[]> {
  let q = tx.selectFrom('api_keys').selectAll().where('org_id', '=', orgId);
  if (f.before) q = q.where('id', '<', f.before);
  return q.orderBy('id', 'desc').limit(f.limit).execute();
}

export function findApiKey(tx: Tx, orgId: string, id: string): Promise<ApiKey | undefined> {
  return tx
    .selectFrom('api_keys')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .executeTakeFirst();
}

/** Revokes a live key; its prefix (for the audit entry), or undefined when none was live. */
export async function revokeApiKey(
  tx: Tx,
  orgId: string,
  id: string,
  revokedBy: string,
): Promise<{ prefix: string } | undefined> {
  return tx
    .updateTable('api_keys')
    .set({ revoked_at: new Date(), revoked_by: revokedBy })
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .returning('prefix')
    .executeTakeFirst();
}

export interface ApiKeyCredential {
  id: string;
  org_id: string;
  created_by: string;
  key_hash: string;
  scopes: string[];
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
  user_status: 'active' | 'disabled';
  /** The creator's role in the key's org now; null when they are no longer an active member. */
  member_role: Role | null;
  /** Set while the key's org is suspended (the kill switch): the key is kept but refused. */
  org_suspended_at: Date | null;
  /** When the creator turned MFA on (null: never), judged against the org's MFA policy. */
  creator_mfa_enabled_at: Date | null;
  /** The org's settings (its `mfa_required_roles`). */
  org_settings: Record<string, unknown> | null;
}

/**
 * API keys (k) with the user who created them (u) and, when the creator is still an active member
 * of the key's org, that membership (m): a key works only while its creator stands behind it.
 */
export function apiKeysWithCreator(tx: Tx) {
  return tx
    .selectFrom('api_keys as k')
    .innerJoin('users as u', 'u.id', 'k.created_by')
    .innerJoin('orgs as o', 'o.id', 'k.org_id')
    .leftJoin('memberships as m', (j) =>
      j
        .onRef('m.org_id', '=', 'k.org_id')
        .onRef('m.user_id', '=', 'k.created_by')
        .on('m.status', '=', 'active'),
    );
}

/** What apiKeyStanding (src/access/api-key-standing.ts) judges a key by, selected from apiKeysWithCreator. */
const STANDING_COLUMNS = [
  'k.expires_at',
  'k.revoked_at',
  'u.status as user_status',
  'm.role as member_role',
  'o.suspended_at as org_suspended_at',
  'u.mfa_enabled_at as creator_mfa_enabled_at',
  'o.settings as org_settings',
] as const;

/** These keys (those that exist) with what their standing is judged by, in one query. */
export function findApiKeyFacts(tx: Tx, ids: readonly string[]) {
  return apiKeysWithCreator(tx)
    .select(['k.id', ...STANDING_COLUMNS])
    .where('k.id', 'in', ids)
    .execute();
}

/** The key and, in the same query, whether its creator still stands behind it. */
export function findApiKeyCredential(
  tx: Tx,
  prefix: string,
): Promise<ApiKeyCredential | undefined> {
  return apiKeysWithCreator(tx)
    .select([
      'k.id',
      'k.org_id',
      'k.created_by',
      'k.key_hash',
      'k.scopes',
      'k.last_used_at',
      ...STANDING_COLUMNS,
    ])
    .where('k.prefix', '=', prefix)
    .executeTakeFirst();
}

/** Records a use at most once per interval, however many instances race to do it. */
export async function touchApiKey(tx: Tx, id: string, intervalSeconds: number): Promise<void> {
  await tx
    .updateTable('api_keys')
    .set({ last_used_at: new Date() })
    .where('id', '=', id)
    .where((eb) =>
      eb.or([
        eb('last_used_at', 'is', null),
        eb('last_used_at', '<', sql<Date>`now() - make_interval(secs => ${intervalSeconds})`),
      ]),
    )
    .execute();
}
