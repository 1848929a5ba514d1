// SQL of device audio: devices, single-use tickets, and the checks that keep live sockets honest
// (revoked devices, API keys that may no longer stream). Every function takes the transaction first.
import { sql } from 'kysely';
import { findApiKeyFacts } from '../api-keys/api-key.repository.ts';
import type { Device, DeviceCodec, RealtimeTicket, Role } from '../db/schema.ts';
import type { Tx } from '../db/tenant.ts';

// Tickets -----------------------------------------------------------------------------------

export function insertTicket(
  tx: Tx,
  row: Pick<
    RealtimeTicket,
    'token_hash' | 'org_id' | 'user_id' | 'session_id' | 'api_key_id' | 'device_name' | 'expires_at'
  >,
): Promise<{ expires_at: Date }> {
  return tx
    .insertInto('realtime_tickets')
    .values(row)
    .returning('expires_at')
    .executeTakeFirstOrThrow();
}

/**
 * Marks the ticket used and returns it, or undefined when no unused ticket has this hash. One
 * UPDATE: of two instances presenting the same ticket at once, exactly one gets the row.
 */
export function consumeTicket(tx: Tx, tokenHash: string): Promise<RealtimeTicket | undefined> {
  return tx
    .updateTable('realtime_tickets')
    .set({ used_at: sql`now()` })
    .where('token_hash', '=', tokenHash)
    .where('used_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

/**
 * Gives a spent ticket back while it is still valid: its socket was refused with 1013 (try again
 * later) and opened nothing, so the client's retry may use it. Still one socket at most: the
 * ticket is spent again by whichever retry wins consumeTicket.
 */
export async function unspendTicket(tx: Tx, id: string): Promise<void> {
  await tx
    .updateTable('realtime_tickets')
    .set({ used_at: null })
    .where('id', '=', id)
    .where('used_at', 'is not', null)
    .where('expires_at', '>', sql<Date>`now()`)
    .execute();
}

/** Whether a ticket with this hash exists at all (to tell a replay from a made-up ticket). */
export async function ticketExists(tx: Tx, tokenHash: string): Promise<boolean> {
  const row = await tx
    .selectFrom('realtime_tickets')
    .select('id')
    .where('token_hash', '=', tokenHash)
    .executeTakeFirst();
  return row !== undefined;
}

/** Tickets are worthless a minute after expiry; they are kept a while to name replays. */
export async function deleteTicketsExpiredBefore(tx: Tx, before: Date): Promise<void> {
  await tx.deleteFrom('realtime_tickets').where('expires_at', '<', before).execute();
}

// Standing of the person behind a socket ------------------------------------------------------

export interface Standing {
  user_status: 'active' | 'disabled';
  /** null: not an active member of the org */
  member_role: Role | null;
  /** What the org's MFA policy judges the session by (mfaEnrollmentPending). */
  mfa_enabled_at: Date | null;
  org_settings: Record<string, unknown> | null;
  /** The amr of the session the socket comes from (null: none given, or none of this user's). */
  session_amr: string[] | null;
}

export function findStanding(
  tx: Tx,
  orgId: string,
  userId: string,
  sessionId?: string,
): Promise<Standing | undefined> {
  return tx
    .selectFrom('users as u')
    .leftJoin('memberships as m', (j) =>
      j.onRef('m.user_id', '=', 'u.id').on('m.org_id', '=', orgId).on('m.status', '=', 'active'),
    )
    .leftJoin('orgs as o', (j) => j.on('o.id', '=', orgId))
    .select([
      'u.status as user_status',
      'm.role as member_role',
      'u.mfa_enabled_at',
      'o.settings as org_settings',
      (sessionId === undefined
        ? sql<string[] | null>`null`
        : sql<
            string[] | null
          >`(SELECT s.amr FROM sessions s WHERE s.id = ${sessionId} AND s.user_id = u.id)`
      ).as('session_amr'),
    ])
    .where('u.id', '=', userId)
    .executeTakeFirst();
}

// Devices -------------------------------------------------------------------------------------

/**
 * Creates the device or records that it was seen again (last_seen_at, codec). A revoked device
 * is left as it is and undefined is returned: it stays revoked.
 */
export function upsertDevice(
  tx: Tx,
  row: { org_id: string; user_id: string; client_id: string; name: string; codec: DeviceCodec },
): Promise<Device | undefined> {
  return tx
    .insertInto('devices')
    .values(row)
    .onConflict((oc) =>
      oc
        .constraint('devices_client_once')
        .doUpdateSet({ last_seen_at: sql`now()`, codec: row.codec })
        .where('devices.revoked_at', 'is', null),
    )
    .returningAll()
    .executeTakeFirst();
}

/**
 * A live (unrevoked) device seen again: its last_seen_at and codec updated, the row returned;
 * undefined when the org has no such live device (new, or revoked).
 */
export function seeDevice(
  tx: Tx,
  key: { org_id: string; user_id: string; client_id: string },
  codec: DeviceCodec,
): Promise<Device | undefined> {
  return tx
    .updateTable('devices')
    .set({ last_seen_at: sql`now()`, codec })
    .where('org_id', '=', key.org_id)
    .where('user_id', '=', key.user_id)
    .where('client_id', '=', key.client_id)
    .where('revoked_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

/** Whether the org holds this device revoked (a revoked device stays revoked). */
export async function isDeviceRevoked(
  tx: Tx,
  key: { org_id: string; user_id: string; client_id: string },
): Promise<boolean> {
  const row = await tx
    .selectFrom('devices')
    .select('id')
    .where('org_id', '=', key.org_id)
    .where('user_id', '=', key.user_id)
    .where('client_id', '=', key.client_id)
    .where('revoked_at', 'is not', null)
    .executeTakeFirst();
  return row !== undefined;
}

/** How many devices, revoked ones aside, one user has in one org. */
export async function countLiveDevices(tx: Tx, orgId: string, userId: string): Promise<number> {
  const row = await tx
    .selectFrom('devices')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('org_id', '=', orgId)
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function touchDevice(tx: Tx, id: string): Promise<void> {
  await tx.updateTable('devices').set({ last_seen_at: sql`now()` }).where('id', '=', id).execute();
}

/** A device with its place in the list: last_seen_at as the database prints it, to the µs. */
export type ListedDevice = Device & { seen_at_key: string };

/**
 * A page of the user's devices, most recently seen first. `before` is where the previous page
 * ended (its last device's last_seen_at to the microsecond, and id): the next page starts after
 * that point, so a device seen again meanwhile moves up without repeating the first page.
 */
export function listUserDevices(
  tx: Tx,
  orgId: string,
  userId: string,
  f: { limit: number; before?: { at: string; id: string } },
): Promise<ListedDevice[]> {
  let q = tx
    .selectFrom('devices')
    .selectAll()
    .select(
      sql<string>`to_char(last_seen_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as(
        'seen_at_key',
      ),
    )
    .where('org_id', '=', orgId)
    .where('user_id', '=', userId);
  if (f.before) {
    q = q.where(
      sql<boolean>`(last_seen_at, id) < (${f.before.at}::timestamptz, ${f.before.id}::uuid)`,
    );
  }
  return q.orderBy('last_seen_at', 'desc').orderBy('id', 'desc').limit(f.limit).execute();
}

export function findUserDevice(
  tx: Tx,
  orgId: string,
  userId: string,
  clientId: string,
): Promise<Device | undefined> {
  return tx
    .selectFrom('devices')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('user_id', '=', userId)
    .where('client_id', '=', clientId)
    .forUpdate()
    .executeTakeFirst();
}

export function markDeviceRevoked(tx: Tx, id: string, by: string): Promise<Device> {
  return tx
    .updateTable('devices')
    .set({ revoked_at: sql`now()`, revoked_by: by })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

// Live-socket checks (system path: one instance holds sockets of many orgs) -------------------

/** Of these device ids, those that are revoked (or gone). */
export async function revokedDeviceIds(tx: Tx, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const live = await tx
    .selectFrom('devices')
    .select('id')
    .where('id', 'in', ids)
    .where('revoked_at', 'is', null)
    .execute();
  const alive = new Set(live.map((r) => r.id));
  return new Set(ids.filter((id) => !alive.has(id)));
}

/**
 * These API keys (those that still exist) with what their standing is judged by
 * (apiKeyStanding, src/access/api-key-standing.ts).
 */
export function apiKeyFacts(tx: Tx, ids: readonly string[]) {
  if (ids.length === 0) return Promise.resolve([]);
  return findApiKeyFacts(tx, ids);
}

/**
 * Of these sessions, in each of these orgs where the session's user is an active member: what the
 * org's MFA policy judges the session by there (mfaEnrollmentPending). A session's sockets may be
 * in several orgs (one opened before a switch-org), so each (session, org) pair is a row.
 */
export function sessionMfaFacts(tx: Tx, sessionIds: readonly string[], orgIds: readonly string[]) {
  if (sessionIds.length === 0 || orgIds.length === 0) return Promise.resolve([]);
  return tx
    .selectFrom('sessions as s')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .innerJoin('memberships as m', (j) =>
      j.onRef('m.user_id', '=', 's.user_id').on('m.status', '=', 'active'),
    )
    .innerJoin('orgs as o', 'o.id', 'm.org_id')
    .select([
      's.id as session_id',
      'm.org_id',
      's.amr',
      'u.mfa_enabled_at',
      'm.role as member_role',
      'o.settings as org_settings',
    ])
    .where('s.id', 'in', sessionIds)
    .where('m.org_id', 'in', orgIds)
    .execute();
}
