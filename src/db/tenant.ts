// Tenant context: every request's database work runs in one transaction, as the unprivileged
// role `switchboard_app`, with the caller's org, user and role set as transaction-local settings
// that the row-level-security policies read. The context rides on the BEGIN round trip, so it
// costs no extra round trip.
import { type Kysely, sql } from 'kysely';
import type { Database } from './database.ts';
import { type DB, ROLES, type Role } from './schema.ts';

export const APP_ROLE = 'switchboard_app';

export interface TenantContext {
  orgId: string | null;
  userId: string | null;
  role: Role | null;
  /** Platform superuser: may cross orgs (every such act is audited by the caller). */
  superuser?: boolean;
}

/** What a repository function receives: a transaction already carrying its tenant context. */
export type Tx = Kysely<DB>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// The preamble is sent as one simple-protocol statement list (no bind parameters), so values are
// embedded as literals. Only values of a closed shape are accepted: a UUID, a role from the list,
// 'on'/'off'. Anything else is a programming error and never reaches SQL.
function literal(value: string | null, shape: 'uuid' | 'role' | 'flag'): string {
  if (value === null) return "''";
  const ok =
    shape === 'uuid'
      ? UUID.test(value)
      : shape === 'role'
        ? (ROLES as readonly string[]).includes(value)
        : value === 'on' || value === 'off';
  if (!ok) throw new Error(`invalid tenant context ${shape}`);
  return `'${value}'`;
}

function preamble(ctx: TenantContext, system: boolean): string {
  return [
    'BEGIN;',
    `SELECT set_config('role', '${APP_ROLE}', true),`,
    `set_config('app.org_id', ${literal(ctx.orgId, 'uuid')}, true),`,
    `set_config('app.user_id', ${literal(ctx.userId, 'uuid')}, true),`,
    `set_config('app.role', ${literal(ctx.role, 'role')}, true),`,
    `set_config('app.superuser', ${literal(ctx.superuser ? 'on' : 'off', 'flag')}, true),`,
    `set_config('app.system', ${literal(system ? 'on' : 'off', 'flag')}, true);`,
  ].join(' ');
}

async function run<T>(
  database: Database,
  ctx: TenantContext,
  system: boolean,
  fn: (tx: Tx) => Promise<T>,
): Promise<T> {
  return database.db.connection().execute(async (conn) => {
    await sql.raw(preamble(ctx, system)).execute(conn);
    let result: T;
    try {
      result = await fn(conn);
    } catch (err) {
      await sql
        .raw('ROLLBACK')
        .execute(conn)
        .catch(() => {});
      throw err;
    }
    await sql.raw('COMMIT').execute(conn);
    return result;
  });
}

/** Run fn in one transaction scoped to the caller's org (row-level security enforces it). */
export function withTenant<T>(
  database: Database,
  ctx: TenantContext,
  fn: (tx: Tx) => Promise<T>,
): Promise<T> {
  return run(database, ctx, false, fn);
}

/**
 * The one narrow path across tenants, for lookups that must happen before a tenant is known
 * (finding a user's memberships at login, the org that owns a phone number for a webhook).
 * Still runs as the unprivileged role; the policies let it through on the `app.system` flag.
 * Callers are reviewed: grep for withSystem.
 */
export function withSystem<T>(
  database: Database,
  fn: (tx: Tx) => Promise<T>,
  ctx: TenantContext = { orgId: null, userId: null, role: null },
): Promise<T> {
  return run(database, ctx, true, fn);
}
