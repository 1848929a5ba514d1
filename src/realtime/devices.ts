// Device audio use cases: issuing and consuming single-use tickets, opening a device (the
// database half of accepting a socket), listing and revoking one's own devices.
import { isPerson } from '../access/actor.ts';
import { type ApiKeyStanding, apiKeyStanding } from '../access/api-key-standing.ts';
import { mfaEnrollmentPending } from '../access/org-policy.ts';
import { can, requirePermission } from '../access/permissions.ts';
import { type Principal, tenantOf } from '../access/principal.ts';
import { recordAct } from '../audit/audit.ts';
import type { AuthContext } from '../auth/auth-context.ts';
import { isSuspensionReason } from '../auth/revocation.ts';
import { endedSessions } from '../auth/session.repository.ts';
import { generateToken, hashToken } from '../crypto/tokens.ts';
import { lockNameForTransaction } from '../db/advisory-lock.ts';
import type { Database } from '../db/database.ts';
import type { Device, DeviceCodec, RealtimeTicket, Role } from '../db/schema.ts';
import { type Tx, withSystem, withTenant, withTenantRead } from '../db/tenant.ts';
import { AppError, notFound } from '../http/errors.ts';
import { decodeMicroCursor, encodeMicroCursor } from '../http/pagination.ts';
import type { RequestMeta } from '../http/request-meta.ts';
import type { RecentSet } from '../infra/recent-set.ts';
import { clientIdFor } from './device-name.ts';
import * as repo from './realtime.repository.ts';
import type { SocketRegistry } from './socket-registry.ts';

/** Used tickets are kept this long past expiry, so a replay is named as such, then deleted. */
const TICKET_KEEP_MS = 10 * 60_000;
/** The close code and reason a revoked device's sockets get. */
export const DEVICE_REVOKED = 'device revoked';
/** Closing reason when a user already has REALTIME_MAX_DEVICES_PER_USER devices in the org. */
export const TOO_MANY_DEVICES = 'too many devices: revoke one';
/** Advisory-lock space of a user's devices in an org (src/db/advisory-lock.ts). */
const DEVICE_LOCK_SPACE = 70_260_032;

/**
 * The 1008 close reason of a socket whose API key may not stream (apiKeyStanding), the same at
 * connect, at ticket redemption and on a live socket: a dead key is `revoked`, the kill switch
 * `org suspended`, a creator the org's MFA policy pins to enrolment `mfa pending` (as their own
 * enrolment-only session gets).
 */
export const KEY_CLOSE_REASON = {
  dead: 'revoked',
  org_suspended: 'org suspended',
  mfa_pending: 'mfa pending',
} as const;
export type KeyCloseReason = (typeof KEY_CLOSE_REASON)[keyof typeof KEY_CLOSE_REASON];
/** A session's sockets: `org suspended` when its org's suspension ended it (README, kill switch). */
type SessionCloseReason = typeof KEY_CLOSE_REASON.dead | typeof KEY_CLOSE_REASON.org_suspended;

/**
 * Whether the org's MFA policy pins the session behind a person's socket to enrolment now: the one
 * rule of login, refresh and switch-org (mfaEnrollmentPending), judged by what the database holds
 * (the member's role, the user's MFA, the session's amr), not by the token's claims. A token or
 * ticket minted before `mfa_required_roles` named the role carries no `mfa_pending`; judged by it,
 * a socket would stream for as long as the session lives, past every refresh that pins it.
 */
function sessionPinned(
  f: {
    member_role: Role | null;
    mfa_enabled_at: Date | null;
    org_settings: Record<string, unknown> | null;
  },
  amr: readonly string[] | null,
): boolean {
  return (
    f.member_role !== null &&
    mfaEnrollmentPending(
      { mfa_enabled_at: f.mfa_enabled_at },
      amr ?? [],
      f.org_settings,
      f.member_role,
    )
  );
}

/**
 * Of these API keys, those that may not stream now, with why: the one rule of every place that
 * honours a key (apiKeyStanding; authenticate-api-key.ts for HTTP). A key that no longer exists is
 * dead.
 */
async function unusableApiKeys(
  tx: Tx,
  ids: readonly string[],
): Promise<Map<string, Exclude<ApiKeyStanding, 'usable'>>> {
  const out = new Map<string, Exclude<ApiKeyStanding, 'usable'>>(ids.map((id) => [id, 'dead']));
  const now = Date.now();
  for (const r of await repo.apiKeyFacts(tx, ids)) {
    const standing = apiKeyStanding(r, now);
    if (standing === 'usable') out.delete(r.id);
    else out.set(r.id, standing);
  }
  return out;
}

// Tickets -------------------------------------------------------------------------------------

export interface IssuedTicket {
  ticket: string;
  expiresAt: Date;
  deviceName: string;
}

/**
 * A single-use ticket for one device socket of the caller, in the caller's org. Only people (not
 * yet enrolment-only, which the MFA gate already refuses) and API keys holding `audio:write` may
 * ask. The secret is returned once; only its SHA-256 is stored.
 */
export async function issueTicket(
  auth: Pick<AuthContext, 'database' | 'limiter'>,
  p: Principal,
  deviceName: string,
  ttlSeconds: number,
): Promise<IssuedTicket> {
  requirePermission(p, 'audio:stream');
  // The socket gate refuses a superuser's X-Switchboard-Org act (a socket is not an audited
  // request); a ticket minted in that org would carry the act past it, so none is minted.
  if (p.actingInOrg) {
    throw new AppError(
      'forbidden',
      'Device sockets open in your own org: send this without X-Switchboard-Org',
    );
  }
  // Counted once the caller may have one (RATE_LIMIT_REALTIME_TICKET): per API key for a key,
  // else per person, so one key's devices never spend a person's allowance or the other way.
  await auth.limiter.consume(
    'realtime_ticket',
    p.apiKeyId ? `key:${p.apiKeyId}` : `user:${p.userId}`,
  );
  const ticket = `rt_${generateToken(32)}`;
  const expiresAt = new Date(Date.now() + ttlSeconds * 1000);
  await withTenant(auth.database, tenantOf(p), async (tx) => {
    await repo.deleteTicketsExpiredBefore(tx, new Date(Date.now() - TICKET_KEEP_MS));
    await repo.insertTicket(tx, {
      token_hash: hashToken(ticket),
      org_id: p.orgId,
      user_id: p.userId,
      session_id: p.sessionId ?? null,
      api_key_id: p.apiKeyId ?? null,
      device_name: deviceName,
      expires_at: expiresAt,
    });
  });
  return { ticket, expiresAt, deviceName };
}

export type TicketUse =
  | { ok: true; ticket: RealtimeTicket }
  | {
      ok: false;
      reason: 'invalid ticket' | 'ticket used' | 'expired' | KeyCloseReason;
    };

/**
 * Consumes a ticket: at most one socket, on any instance, ever gets it. On the system path: the
 * ticket is what names the tenant. An expired ticket is consumed too (and refused). A ticket an
 * API key asked for is worth no more than the key now: one whose key may not stream since it was
 * minted (apiKeyStanding: revoked, expired, creator gone, or the org's MFA policy now pinning the
 * creator) is refused here with the key's reason, not accepted and cut by the watcher a poll later.
 */
export async function redeemTicket(database: Database, ticket: string): Promise<TicketUse> {
  if (!/^rt_[A-Za-z0-9_-]{43}$/.test(ticket)) return { ok: false, reason: 'invalid ticket' };
  const hash = hashToken(ticket);
  return withSystem(database, async (tx) => {
    const row = await repo.consumeTicket(tx, hash);
    if (!row) {
      return {
        ok: false,
        reason: (await repo.ticketExists(tx, hash)) ? 'ticket used' : 'invalid ticket',
      };
    }
    if (row.expires_at.getTime() <= Date.now()) return { ok: false, reason: 'expired' };
    if (row.api_key_id) {
      const unusable = (await unusableApiKeys(tx, [row.api_key_id])).get(row.api_key_id);
      if (unusable) return { ok: false, reason: KEY_CLOSE_REASON[unusable] };
    }
    return { ok: true, ticket: row };
  });
}

/** A ticket whose socket was refused with 1013 (nothing opened) works again until it expires. */
export function returnTicket(database: Database, ticketId: string): Promise<void> {
  return withSystem(database, (tx) => repo.unspendTicket(tx, ticketId));
}

// Opening a device ----------------------------------------------------------------------------

export interface DeviceHolder {
  orgId: string;
  userId: string;
  role: Role;
  /** A person's session (token, cookie or ticket); none for an API key. */
  sessionId?: string;
}

export type DeviceOpening =
  | { ok: true; device: Device }
  | {
      ok: false;
      reason:
        | 'account disabled'
        | 'not a member'
        | typeof DEVICE_REVOKED
        | typeof TOO_MANY_DEVICES
        | typeof KEY_CLOSE_REASON.mfa_pending;
    };

/**
 * The database half of accepting a socket, in one transaction in the holder's tenant context:
 * the person must still be an active user and member of the org (a token outlives neither by
 * more than the revocation poll, a ticket or key not at all), a person's session must not be
 * pinned to MFA enrolment by the org's policy now (sessionPinned: a token or ticket from before
 * the policy says nothing of it; an API key's creator is judged by apiKeyStanding), and the device
 * must not be revoked; then its last_seen_at and codec are updated, or the row created while the
 * user has fewer than `maxDevices` live devices in the org.
 */
export function openDevice(
  database: Database,
  holder: DeviceHolder,
  deviceName: string,
  codec: DeviceCodec,
  maxDevices: number,
): Promise<DeviceOpening> {
  const ctx = { orgId: holder.orgId, userId: holder.userId, role: holder.role };
  return withTenant(database, ctx, async (tx) => {
    const standing = await repo.findStanding(tx, holder.orgId, holder.userId, holder.sessionId);
    if (standing?.user_status !== 'active') {
      return { ok: false, reason: 'account disabled' } as const;
    }
    if (standing.member_role === null) return { ok: false, reason: 'not a member' } as const;
    if (holder.sessionId !== undefined && sessionPinned(standing, standing.session_amr)) {
      return { ok: false, reason: KEY_CLOSE_REASON.mfa_pending } as const;
    }
    const key = {
      org_id: holder.orgId,
      user_id: holder.userId,
      client_id: clientIdFor(holder.userId, deviceName),
    };
    const seen = await repo.seeDevice(tx, key, codec);
    if (seen) return { ok: true, device: seen } as const;
    if (await repo.isDeviceRevoked(tx, key)) return { ok: false, reason: DEVICE_REVOKED } as const;
    // A new device: every new name was a permanent row, so one member looping sockets with random
    // names grew the table (and their device list) without bound. At most maxDevices live ones
    // per user and org, counted under a lock of the pair: two new names at once cannot both take
    // the last place.
    await lockNameForTransaction(tx, DEVICE_LOCK_SPACE, `${holder.orgId}:${holder.userId}`);
    if ((await repo.countLiveDevices(tx, holder.orgId, holder.userId)) >= maxDevices) {
      return { ok: false, reason: TOO_MANY_DEVICES } as const;
    }
    // The same name opened at once by two sockets: the second updates what the first created.
    const device = await repo.upsertDevice(tx, { ...key, name: deviceName, codec });
    if (!device) return { ok: false, reason: DEVICE_REVOKED } as const;
    return { ok: true, device } as const;
  });
}

/** Records the end of a socket as the device's last sighting. */
export function deviceSeen(database: Database, holder: DeviceHolder, deviceId: string) {
  const ctx = { orgId: holder.orgId, userId: holder.userId, role: holder.role };
  return withTenant(database, ctx, (tx) => repo.touchDevice(tx, deviceId));
}

/** A person's socket's (session, org): what the MFA policy is judged for (findEnded's `pinned`). */
export const sessionInOrg = (sessionId: string, orgId: string) => `${sessionId} ${orgId}`;

/**
 * Of the live sockets' devices, API keys and sessions, those that ended elsewhere: devices revoked
 * (on any instance), keys that may not stream (apiKeyStanding: dead, org suspended, creator pinned
 * to MFA enrolment by a policy set since), sessions that no longer stand, and sessions the org's
 * MFA policy now pins to enrolment in the socket's org (sessionPinned: a policy set, or a role
 * named, since the socket opened; nothing revokes the session, its next refresh is pinned). A
 * revocation reaches sockets through the revocation list; a session that simply ran out (its
 * absolute lifetime, or its refresh chain dead of idleness) is revoked by nobody, and a socket
 * opened with one of its tokens (or a ticket it asked for) would otherwise stream on for as long as
 * it stays open. On the system path: one instance holds the sockets of many orgs.
 */
export function findEnded(
  database: Database,
  live: {
    deviceIds: readonly string[];
    apiKeyIds: readonly string[];
    /** The sessions of people's sockets, each with the org of a socket it opened. */
    sessions: readonly { sessionId: string; orgId: string }[];
  },
): Promise<{
  devices: Set<string>;
  /** key id → the close reason of its sockets */
  keys: Map<string, KeyCloseReason>;
  /** session id → the close reason of its sockets: the suspension's, or `revoked` */
  sessions: Map<string, SessionCloseReason>;
  /** sessionInOrg(session, org) of standing sessions pinned to MFA enrolment in that org */
  pinned: Set<string>;
}> {
  const sessionIds = [...new Set(live.sessions.map((s) => s.sessionId))];
  return withSystem(database, async (tx) => {
    const ended = await endedSessions(tx, sessionIds);
    const standing = sessionIds.filter((id) => !ended.has(id));
    const orgIds = [...new Set(live.sessions.map((s) => s.orgId))];
    const pinned = new Set<string>();
    for (const f of await repo.sessionMfaFacts(tx, standing, orgIds)) {
      if (sessionPinned(f, f.amr)) pinned.add(sessionInOrg(f.session_id, f.org_id));
    }
    return {
      devices: await repo.revokedDeviceIds(tx, live.deviceIds),
      keys: new Map(
        [...(await unusableApiKeys(tx, live.apiKeyIds))].map(([id, s]) => [
          id,
          KEY_CLOSE_REASON[s],
        ]),
      ),
      sessions: new Map(
        [...ended].map(([id, why]) => [
          id,
          isSuspensionReason(why) ? KEY_CLOSE_REASON.org_suspended : KEY_CLOSE_REASON.dead,
        ]),
      ),
      pinned,
    };
  });
}

// The devices API -----------------------------------------------------------------------------

/** Devices are the person's own: API keys (which act for their creator) do not manage them. */
function requireDeviceOwner(p: Principal): void {
  if (!isPerson(p) || !can(p, 'devices:manage_own')) {
    throw new AppError('forbidden', 'Only the person who owns a device manages it');
  }
}

export async function listDevices(
  database: Database,
  p: Principal,
  q: { limit: number; cursor?: string },
): Promise<{ items: Device[]; next_cursor: string | null }> {
  requireDeviceOwner(p);
  const before = decodeMicroCursor(q.cursor);
  const rows = await withTenantRead(database, tenantOf(p), (tx) =>
    repo.listUserDevices(tx, p.orgId, p.userId, { limit: q.limit + 1, before }),
  );
  const items = rows.slice(0, q.limit);
  const last = items[items.length - 1];
  return {
    items,
    next_cursor:
      rows.length > q.limit && last ? encodeMicroCursor(last.seen_at_key, last.id) : null,
  };
}

/**
 * Revokes one of the caller's devices (audited in the same transaction) and closes its live
 * sockets on this instance at once; other instances close theirs at their next watch (the
 * realtime plugin polls revoked devices). Revoking a revoked device changes nothing (204).
 * `revokedHere` learns the device before any socket is closed: a socket still in the gate then
 * checks it before it registers (nothing else reaches it).
 */
export async function revokeDevice(
  database: Database,
  registry: SocketRegistry,
  revokedHere: RecentSet,
  p: Principal,
  clientId: string,
  meta: RequestMeta,
): Promise<void> {
  requireDeviceOwner(p);
  const device = await withTenant(database, tenantOf(p), async (tx) => {
    const found = await repo.findUserDevice(tx, p.orgId, p.userId, clientId);
    if (!found) throw notFound('device');
    if (found.revoked_at !== null) return found;
    const revoked = await repo.markDeviceRevoked(tx, found.id, p.userId);
    await recordAct(tx, meta, p, {
      action: 'device.revoke',
      target_type: 'device',
      target_id: found.id,
      metadata: { client_id: found.client_id },
    });
    return revoked;
  });
  revokedHere.add([device.id]);
  registry.closeWhere((s) => s.deviceId === device.id, 1008, DEVICE_REVOKED);
}
