// Who opens a device socket, decided once, on the upgrade request, before any audio is read.
// Credentials, first found wins:
//   1. `?ticket=` — single use, from POST /api/realtime/tickets (browsers);
//   2. an access token or `sb_…` API key: `Sec-WebSocket-Protocol: bearer, <token>`,
//      `Authorization: Bearer <token>` or `?token=<token>`;
//   3. the sb_access cookie, only with `Origin` equal to PUBLIC_URL's origin (a page of another
//      site can open a WebSocket to us and the browser attaches our cookie: cross-site WebSocket
//      hijacking. Browsers always send Origin on a WebSocket handshake and page script cannot
//      forge it).
// Tokens go through the one access-token check (src/auth/authenticate.ts), keys through the one
// API-key authenticator. A refusal is a short reason for the 1008 close frame; never an error.
import type { FastifyRequest } from 'fastify';
import { can } from '../access/permissions.ts';
import type { Principal } from '../access/principal.ts';
import { headerOrg } from '../admin/act-in-org.ts';
import type { ApiKeyRefusal } from '../api-keys/authenticate-api-key.ts';
import type { AuthContext } from '../auth/auth-context.ts';
import {
  type AccessTokenCheck,
  accessPrincipal,
  bearerToken,
  checkAccessToken,
} from '../auth/authenticate.ts';
import { ACCESS_COOKIE } from '../auth/cookies.ts';
import type { Role } from '../db/schema.ts';
import { AppError } from '../http/errors.ts';
import { KEY_CLOSE_REASON, redeemTicket } from './devices.ts';

/** What the gate learnt: the person (or key acting for them), the org, what ends the socket. */
export interface SocketHolder {
  userId: string;
  orgId: string;
  role: Role;
  sessionId?: string;
  apiKeyId?: string;
  via: 'ticket' | 'token' | 'cookie' | 'api_key';
  /** A ticket's device: the socket must be that device. */
  ticketDevice?: string;
  /** The redeemed ticket: given back if the socket is refused with 1013 (try again later). */
  ticketId?: string;
}

export type GateResult =
  | { ok: true; holder: SocketHolder }
  | { ok: false; code: 1008 | 1013; reason: string };

export interface GateDeps {
  auth: AuthContext;
  /** PUBLIC_URL's origin: the only page origin a cookie-authenticated socket may come from. */
  origin: string;
  apiKey: (
    request: FastifyRequest,
    key: string,
    refused?: (why: ApiKeyRefusal) => void,
  ) => Promise<Principal | null>;
}

const refuse = (reason: string): GateResult => ({ ok: false, code: 1008, reason });
/** The close reason when the socket's org is suspended (the kill switch). */
export const ORG_SUSPENDED = 'org suspended';
/**
 * A session that its org's suspension ended is refused as the suspension's (README, kill switch),
 * also before this instance's suspended-org poll has found the org: the revocation says why.
 */
const revokedRefusal = (auth: AuthContext, sessionId: string | null | undefined) =>
  refuse(sessionId && auth.revocation.endedBySuspension(sessionId) ? ORG_SUSPENDED : 'revoked');
const tokenRefusal = (auth: AuthContext, checked: Exclude<AccessTokenCheck, { ok: true }>) =>
  checked.reason === 'revoked'
    ? revokedRefusal(auth, checked.sessionId)
    : refuse(
        checked.reason === 'invalid'
          ? 'invalid token'
          : checked.reason === 'org_suspended'
            ? ORG_SUSPENDED
            : checked.reason,
      );

/** `Sec-WebSocket-Protocol: bearer, <token>`: the token, or undefined. */
export function subprotocolToken(request: FastifyRequest): string | undefined {
  const h = request.headers['sec-websocket-protocol'];
  if (typeof h !== 'string') return undefined;
  const parts = h.split(',').map((p) => p.trim());
  const i = parts.indexOf('bearer');
  return i >= 0 && parts[i + 1] ? parts[i + 1] : undefined;
}

function queryParam(request: FastifyRequest, name: string): unknown {
  return (request.query as Record<string, unknown> | undefined)?.[name];
}

function queryValue(request: FastifyRequest, name: string): string | undefined {
  const v = queryParam(request, name);
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function fromPrincipal(p: Principal): GateResult {
  if (p.mfaPending) return refuse('mfa pending');
  const byKey = p.via === 'api_key';
  if (!can(p, 'audio:stream')) return refuse(byKey ? 'missing scope audio:write' : 'forbidden');
  const who = { userId: p.userId, orgId: p.orgId, role: p.role };
  return {
    ok: true,
    holder: byKey
      ? { ...who, apiKeyId: p.apiKeyId, via: 'api_key' }
      : { ...who, sessionId: p.sessionId, via: p.via === 'cookie' ? 'cookie' : 'token' },
  };
}

async function fromToken(
  deps: GateDeps,
  request: FastifyRequest,
  token: string,
  fromHeader: boolean,
): Promise<GateResult> {
  if (token.startsWith('sb_')) {
    // A key in the Authorization header was already looked up by the request authenticator.
    const already = fromHeader ? request.principal : null;
    if (already?.via === 'api_key') return fromPrincipal(already);
    try {
      let dead = false;
      const p = await deps.apiKey(request, token, () => {
        dead = true;
      });
      if (p) return fromPrincipal(p);
      if (request.authFailure === 'org_suspended') return refuse(ORG_SUSPENDED);
      // A key of ours that works no more: `revoked`, as its live sockets and tickets are closed.
      return refuse(dead ? KEY_CLOSE_REASON.dead : 'invalid key');
    } catch (err) {
      if (err instanceof Error) return authenticatorRefusal(err);
      throw err;
    }
  }
  const checked = await checkAccessToken(deps.auth, token);
  if (!checked.ok) return tokenRefusal(deps.auth, checked);
  return fromPrincipal(accessPrincipal(checked.claims, 'bearer'));
}

async function fromCredential(deps: GateDeps, request: FastifyRequest): Promise<GateResult | null> {
  const sub = subprotocolToken(request);
  if (sub) return fromToken(deps, request, sub, false);
  const header = bearerToken(request);
  if (header) return fromToken(deps, request, header, true);
  // `?token=A&token=B` is a credential, not none: refused as not one of ours.
  if (Array.isArray(queryParam(request, 'token'))) return refuse('invalid token');
  const query = queryValue(request, 'token');
  if (query) return fromToken(deps, request, query, false);
  const cookie = request.cookies?.[ACCESS_COOKIE];
  if (cookie) {
    if (request.headers.origin !== deps.origin) return refuse('wrong origin');
    const checked = await checkAccessToken(deps.auth, cookie);
    if (!checked.ok) return tokenRefusal(deps.auth, checked);
    return fromPrincipal(accessPrincipal(checked.claims, 'cookie'));
  }
  return null;
}

/**
 * What the request authenticator refused the upgrade request with (src/app/authentication.ts
 * leaves it to this gate on SOCKET_GATE routes), as a close: an API key over RATE_LIMIT_API_KEY
 * backs off; an X-Switchboard-Org the caller may not use is refused with the problem's code. Any
 * other failure (the database did not answer) is thrown: the socket closes 1013.
 */
function authenticatorRefusal(err: Error): GateResult {
  if (!(err instanceof AppError)) throw err;
  if (err.code === 'rate_limited') return { ok: false, code: 1013, reason: 'try again later' };
  // A key whose creator the org's MFA policy pins to enrolment: as an enrolment-only session.
  if (err.code === 'mfa_enrollment_required') return refuse('mfa pending');
  return refuse(err.code);
}

/**
 * A device socket is opened in its credential's own org: never a superuser's act inside another
 * org (that is audited per request, and a socket is not one), and never silently the home org
 * of a caller who named another. An X-Switchboard-Org other than the holder's org is refused.
 */
export async function authenticateSocket(
  deps: GateDeps,
  request: FastifyRequest,
): Promise<GateResult> {
  if (request.authError) return authenticatorRefusal(request.authError);
  // Read before any credential (a ticket is spent when redeemed): not an org id is refused as
  // the request authenticator refuses it, whatever carries the credential.
  let named: string | undefined;
  try {
    named = headerOrg(request);
  } catch (err) {
    return authenticatorRefusal(err as Error);
  }
  const result = await authenticateHolder(deps, request);
  if (result.ok && named !== undefined && named !== result.holder.orgId) return refuse('forbidden');
  return result;
}

async function authenticateHolder(deps: GateDeps, request: FastifyRequest): Promise<GateResult> {
  // `?ticket=x&ticket=y` is not one ticket: refused as such, never read as no ticket (the other
  // credential would then be used instead of what the client meant).
  if (Array.isArray(queryParam(request, 'ticket'))) return refuse('invalid ticket');
  const ticket = queryValue(request, 'ticket');
  if (!ticket) return (await fromCredential(deps, request)) ?? refuse('no token');

  const used = await redeemTicket(deps.auth.database, ticket);
  if (!used.ok) return refuse(used.reason);
  const t = used.ticket;
  // The suspension first: it ended the session too, and says why (README, kill switch).
  if (deps.auth.suspendedOrgs.isSuspended(t.org_id)) return refuse(ORG_SUSPENDED);
  if (t.session_id && deps.auth.revocation.isRevoked(t.session_id)) {
    return revokedRefusal(deps.auth, t.session_id);
  }
  // A ticket that arrives with another credential (a browser's cookie) must be that caller's:
  // a ticket of another user or org is refused, not silently preferred.
  const other = await fromCredential(deps, request).catch(() => null);
  if (other?.ok && (other.holder.userId !== t.user_id || other.holder.orgId !== t.org_id)) {
    return refuse('ticket mismatch');
  }
  return {
    ok: true,
    holder: {
      userId: t.user_id,
      orgId: t.org_id,
      // The role is re-read with the membership when the device is opened; the tenant context
      // needs one to begin with and `member` grants the least.
      role: 'member',
      sessionId: t.session_id ?? undefined,
      apiKeyId: t.api_key_id ?? undefined,
      via: 'ticket',
      ticketDevice: t.device_name,
      ticketId: t.id,
    },
  };
}
