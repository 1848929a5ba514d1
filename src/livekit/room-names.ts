// LiveKit room names are namespaced by org: `<org id>__<name>`. A LiveKit server is shared by
// every org, so the name a client asks for is only ever the part after the separator, checked
// here: it can never contain the separator (so never spell another org's prefix), and the
// personal-room names (`user-<user id>`) are reserved to their user. Webhooks map a room back to
// its org through the same prefix.
import { AppError } from '../http/errors.ts';

export const ROOM_SEPARATOR = '__';
/** The name inside the org: letters, digits, "-" and "_" (never "__"), 1-64 characters. */
export const ROOM_NAME_PATTERN = '^(?!.*__)[A-Za-z0-9][A-Za-z0-9_-]{0,63}$';
const ROOM_NAME_RE = new RegExp(ROOM_NAME_PATTERN);
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PERSONAL_PREFIX = 'user-';

/** A user's own room, where a token without `room_name` goes. */
export function personalRoom(userId: string): string {
  return `${PERSONAL_PREFIX}${userId}`;
}

function invalid(message: string): AppError {
  return new AppError('validation_failed', `room_name ${message}`, {
    errors: [{ field: 'room_name', message }],
  });
}

/**
 * The full LiveKit room name for a caller's request: the personal room when `name` is absent.
 * 400 for a malformed name (or one naming any namespace), 403 for another user's personal room.
 */
export function namespacedRoom(orgId: string, userId: string, name: string | undefined): string {
  const inside = name ?? personalRoom(userId);
  if (!ROOM_NAME_RE.test(inside)) {
    throw invalid(
      'must be 1-64 letters, digits, "-" or "_", start with a letter or digit, and never contain "__" (rooms are named inside your organization)',
    );
  }
  if (inside.toLowerCase().startsWith(PERSONAL_PREFIX) && inside !== personalRoom(userId)) {
    throw new AppError('forbidden', 'Rooms named "user-…" are personal rooms of their user');
  }
  return `${orgId}${ROOM_SEPARATOR}${inside}`;
}

/**
 * The org a full room name belongs to and its name inside the org, or null when the name is not
 * one of ours (an event for such a room is acknowledged and ignored).
 */
export function parseRoom(full: string): { orgId: string; name: string } | null {
  const orgId = full.slice(0, 36);
  const name = full.slice(36 + ROOM_SEPARATOR.length);
  if (!UUID_RE.test(orgId) || full.slice(36, 36 + ROOM_SEPARATOR.length) !== ROOM_SEPARATOR) {
    return null;
  }
  return ROOM_NAME_RE.test(name) ? { orgId, name } : null;
}

/** A room filter: the name inside the org, or the org's own full name. */
export function roomFilter(orgId: string, name: string): string {
  const parsed = parseRoom(name);
  if (parsed) {
    if (parsed.orgId !== orgId) throw invalid('names a room of another organization');
    return name;
  }
  if (!ROOM_NAME_RE.test(name)) throw invalid('is not a room name');
  return `${orgId}${ROOM_SEPARATOR}${name}`;
}
