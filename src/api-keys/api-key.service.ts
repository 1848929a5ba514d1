// API key use cases: create (the key is returned once, only its hash is kept), list, revoke.
// Only owners and admins manage keys, and never with a key (scopeFor('api_keys:manage') is null).
import type { ApiKeyScope } from '../access/permissions.ts';
import { requirePermission } from '../access/permissions.ts';
import { type Principal, tenantOf } from '../access/principal.ts';
import { lockStanding } from '../access/standing.ts';
import { recordAct } from '../audit/audit.ts';
import type { AuthContext } from '../auth/auth-context.ts';
import type { ApiKey } from '../db/schema.ts';
import { withTenant } from '../db/tenant.ts';
import { AppError, notFound } from '../http/errors.ts';
import { newId } from '../http/ids.ts';
import { decodeCursor, page } from '../http/pagination.ts';
import type { RequestMeta } from '../http/request-meta.ts';
import * as repo from './api-key.repository.ts';
import { newApiKey } from './api-key-format.ts';

export interface NewApiKeyInput {
  name: string;
  scopes: ApiKeyScope[];
  expires_at?: string;
}

export async function createApiKey(
  auth: AuthContext,
  p: Principal,
  input: NewApiKeyInput,
  meta: RequestMeta,
): Promise<{ row: ApiKey; key: string }> {
  requirePermission(p, 'api_keys:manage');
  const expiresAt = input.expires_at ? new Date(input.expires_at) : null;
  if (expiresAt && expiresAt.getTime() <= Date.now()) {
    throw new AppError('validation_failed', 'expires_at must be in the future', {
      errors: [{ field: 'expires_at', message: 'must be in the future' }],
    });
  }
  const scopes = [...new Set(input.scopes)];
  const { prefix, key, hash } = newApiKey();
  const row = await withTenant(auth.database, tenantOf(p), async (tx) => {
    // A key acts with its creator's role in this org, so its creator must hold one: the
    // superuser acting in someone else's org (no membership there) cannot mint keys for it.
    // Judged under the org's and the account's locks (src/access/standing.ts): a removal, role
    // change, disable or suspension in between wins, or it sees this key and ends it.
    const standing = await lockStanding(tx, p.orgId, p.userId);
    if (standing.role === null) {
      throw new AppError('forbidden', 'Only a member of this organization can create its API keys');
    }
    requirePermission({ ...p, role: standing.role }, 'api_keys:manage');
    const inserted = await repo.insertApiKey(tx, {
      id: newId(),
      org_id: p.orgId,
      created_by: p.userId,
      name: input.name.trim(),
      prefix,
      key_hash: hash,
      scopes,
      expires_at: expiresAt,
    });
    await recordAct(tx, meta, p, {
      action: 'api_key.create',
      target_type: 'api_key',
      target_id: inserted.id,
      metadata: { prefix, scopes: scopes.join(' '), expires_at: expiresAt?.toISOString() ?? null },
    });
    return inserted;
  });
  return { row, key };
}

export async function listApiKeys(
  auth: AuthContext,
  p: Principal,
  q: { limit: number; cursor?: string },
) {
  requirePermission(p, 'api_keys:manage');
  const before = decodeCursor(q.cursor);
  const rows = await withTenant(auth.database, tenantOf(p), (tx) =>
    repo.listApiKeys(tx, p.orgId, { limit: q.limit + 1, before }),
  );
  return page(rows, q.limit);
}

export async function revokeApiKey(
  auth: AuthContext,
  p: Principal,
  id: string,
  meta: RequestMeta,
): Promise<void> {
  requirePermission(p, 'api_keys:manage');
  await withTenant(auth.database, tenantOf(p), async (tx) => {
    const revoked = await repo.revokeApiKey(tx, p.orgId, id, p.userId);
    if (!revoked) {
      // Revoking twice is fine; another org's key or an unknown id is a 404.
      if (await repo.findApiKey(tx, p.orgId, id)) return;
      throw notFound('API key');
    }
    await recordAct(tx, meta, p, {
      action: 'api_key.revoke',
      target_type: 'api_key',
      target_id: id,
      metadata: { prefix: revoked.prefix },
    });
  });
}

export function apiKeyStatus(k: ApiKey, now = Date.now()): 'active' | 'expired' | 'revoked' {
  if (k.revoked_at) return 'revoked';
  if (k.expires_at && k.expires_at.getTime() <= now) return 'expired';
  return 'active';
}
