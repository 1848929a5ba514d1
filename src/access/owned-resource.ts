// The owned-resource kit: the one access sequence of prompts, phones, voice agents, messaging
// agents and scheduled calls. Each table keeps its explicit SQL in its repository; the kit only
// decides which rows a caller gets, in one transaction under the caller's tenant context.
//
// Invariants:
// - A row the caller may not see (or, for a change, may not manage) answers exactly like a
//   missing one: the same 404, so no answer reveals another member's rows.
// - Reads follow the role, as row-level security does (members: their own rows); the kit filters
//   by owner as well, so the query says what the policies enforce.
// - The permission is checked before anything else, the cursor before any database work.
import type { Database } from '../db/database.ts';
import { type Tx, withTenant, withTenantRead } from '../db/tenant.ts';
import { AppError, notFound } from '../http/errors.ts';
import { newId } from '../http/ids.ts';
import { decodeCursor, page } from '../http/pagination.ts';
import {
  canManageRow,
  canSeeRow,
  type OwnedResource,
  requirePermission,
  seesWholeOrg,
} from './permissions.ts';
import { type Principal, tenantOf } from './principal.ts';

export interface OwnedTable<Row extends { owner_id: string }> {
  resource: OwnedResource;
  /** What a 404 names: "No such <noun>". */
  noun: string;
  /** The repository's lookup of one live row of the org. */
  find(tx: Tx, orgId: string, id: string): Promise<Row | undefined>;
}

/** The columns every owned row starts with: a fresh id, the caller's org and the caller. */
export interface OwnedColumns {
  id: string;
  org_id: string;
  owner_id: string;
}

/** The page a list route asks for; `owner_id` narrows it for those who see the whole org. */
export interface OwnedListQuery {
  limit: number;
  cursor?: string;
  owner_id?: string;
}

/** What the repository's list receives: one row more than the page, and the owner to keep. */
export interface OwnedListScope {
  limit: number;
  before?: string;
  ownerId?: string;
}

export function ownedResource<Row extends { id: string; owner_id: string }>(
  database: Database,
  { resource, noun, find }: OwnedTable<Row>,
) {
  /** The row, or the 404 of this resource (a write that matched no row lost a race to a delete). */
  function found<T>(row: T | undefined): T {
    if (row === undefined) throw notFound(noun);
    return row;
  }

  async function findManageable(tx: Tx, p: Principal, id: string): Promise<Row> {
    const row = await find(tx, p.orgId, id);
    if (!row || !canManageRow(p, resource, row.owner_id)) throw notFound(noun);
    return row;
  }

  /** Work on a row the caller may change, found in the same transaction as the work. */
  function inTransaction<T>(p: Principal, id: string, work: (tx: Tx, row: Row) => Promise<T>) {
    return withTenant(database, tenantOf(p), async (tx) =>
      work(tx, await findManageable(tx, p, id)),
    );
  }

  return {
    found,

    /**
     * POST: `insert` writes a new row owned by the caller; `owned` is its id, org and owner.
     * `check` runs the checks that need no database, after the permission.
     */
    create<T>(
      p: Principal,
      insert: (tx: Tx, owned: OwnedColumns) => Promise<T>,
      check?: () => void,
    ): Promise<T> {
      requirePermission(p, `${resource}:create`);
      check?.();
      return withTenant(database, tenantOf(p), (tx) =>
        insert(tx, { id: newId(), org_id: p.orgId, owner_id: p.userId }),
      );
    },

    /** GET one row the caller can see. */
    async get(p: Principal, id: string): Promise<Row> {
      requirePermission(p, `${resource}:read`);
      const row = await withTenantRead(database, tenantOf(p), (tx) => find(tx, p.orgId, id));
      if (!row || !canSeeRow(p, row.owner_id)) throw notFound(noun);
      return row;
    },

    /** A page of the rows the caller sees, newest first; `list` runs the repository's query. */
    list(
      p: Principal,
      q: OwnedListQuery,
      list: (tx: Tx, scope: OwnedListScope) => Promise<Row[]>,
    ): Promise<{ items: Row[]; next_cursor: string | null }> {
      requirePermission(p, `${resource}:read`);
      const before = decodeCursor(q.cursor);
      return withTenantRead(database, tenantOf(p), async (tx) => {
        const ownerId = seesWholeOrg(p) ? q.owner_id : p.userId;
        return page(await list(tx, { limit: q.limit + 1, before, ownerId }), q.limit);
      });
    },

    /** Any change to one row (delete, cancel, verify): `work` gets a row the caller may manage. */
    manage<T>(p: Principal, id: string, work: (tx: Tx, row: Row) => Promise<T>): Promise<T> {
      requirePermission(p, `${resource}:manage_own`);
      return inTransaction(p, id, work);
    },

    /**
     * PATCH: an empty patch is a 400; `check` runs the checks that need no database (after the
     * permission, before the transaction); then `work` applies the patch to a manageable row.
     */
    update<T>(
      p: Principal,
      id: string,
      patch: object,
      work: (tx: Tx, row: Row) => Promise<T>,
      check?: () => void,
    ): Promise<T> {
      requirePermission(p, `${resource}:manage_own`);
      if (Object.keys(patch).length === 0) {
        throw new AppError('validation_failed', 'Nothing to update');
      }
      check?.();
      return inTransaction(p, id, work);
    },
  };
}
