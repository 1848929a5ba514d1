// Display helpers: dates in the user's locale, relative times, short device names.
import type { ResponseOf } from './api.ts';

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '—' : d.toLocaleDateString(undefined, { dateStyle: 'medium' });
}

export function timeAgo(iso: string | null | undefined): string {
  if (!iso) return 'Never';
  const seconds = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  if (Number.isNaN(seconds)) return '—';
  if (seconds < 60) return 'just now';
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 24) return `${hours} h ago`;
  const days = Math.round(hours / 24);
  return days < 30 ? `${days} d ago` : formatDate(iso);
}

/** "Chrome on Linux" from a user agent string; the raw string stays available as a title. */
export function deviceName(userAgent: string | null | undefined): string {
  if (!userAgent) return 'Unknown device';
  const ua = userAgent;
  const browser = /Edg\//.test(ua)
    ? 'Edge'
    : /Firefox\//.test(ua)
      ? 'Firefox'
      : /Chrom(e|ium)\//.test(ua)
        ? 'Chrome'
        : /Safari\//.test(ua)
          ? 'Safari'
          : /curl\//i.test(ua)
            ? 'curl'
            : null;
  const os = /Windows/.test(ua)
    ? 'Windows'
    : /Android/.test(ua)
      ? 'Android'
      : /iPhone|iPad/.test(ua)
        ? 'iOS'
        : /Mac OS X/.test(ua)
          ? 'macOS'
          : /Linux/.test(ua)
            ? 'Linux'
            : null;
  if (browser && os) return `${browser} on ${os}`;
  return browser ?? os ?? ua.slice(0, 40);
}

/** The roles the server knows, from its OpenAPI document (src/access/permissions.ts ROLES). */
export type Role = ResponseOf<'/api/users/me', 'get'>['role'];

/** A label for every role: a role the server adds fails the typecheck until it is labelled. */
export const ROLE_LABELS = {
  owner: 'Owner',
  admin: 'Admin',
  manager: 'Manager',
  member: 'Member',
} as const satisfies Record<Role, string>;

/** Highest first, as the server lists them. */
export const ROLES = Object.keys(ROLE_LABELS) as Role[];

/** Owners and admins run the org (members, invitations, keys, settings, audit). */
export function isOrgAdmin(role: string | undefined): boolean {
  return role === 'owner' || role === 'admin';
}

/**
 * The roles someone holding `own` may hand out (an invitation, a role change): never above their
 * own, as the server's assertMayGrant (src/orgs/roles.ts) — only an owner makes an owner.
 */
export function grantableRoles(own: string | undefined): Role[] {
  const rank = ROLES.indexOf((own ?? 'member') as Role);
  return rank < 0 ? [] : ROLES.filter((_, i) => i >= rank);
}

/**
 * Whether someone holding `own` may change the role of, or deactivate, a member holding `theirs`:
 * owners and admins manage members, but only an owner touches an owner (src/orgs/members.ts).
 */
export function mayManageMember(own: string | undefined, theirs: Role): boolean {
  return isOrgAdmin(own) && (theirs !== 'owner' || own === 'owner');
}

/** "1 h 02 min", "3 min 07 s", "42 s" for a call duration; "—" when unknown. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  if (h > 0) return `${h} h ${String(m).padStart(2, '0')} min`;
  if (m > 0) return `${m} min ${String(rest).padStart(2, '0')} s`;
  return `${rest} s`;
}

/** A recording's length as a player shows it, to the nearest second: "1:23", "1:23:20". */
export function formatMs(ms: number): string {
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}
